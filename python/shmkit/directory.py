"""The directory of named objects in a segment, and its bump allocator (same format and protocol
as the Node side; docs/format.md, "Directory").

Entry layout (96 bytes at directory_offset + 96 x index):
| offset | size | field                                          |
|--------|------|------------------------------------------------|
| 0      | 4    | kind (KINDS below)                             |
| 4      | 4    | offset of the object / 128                     |
| 8      | 8    | byte length of the object's region             |
| 16     | 12   | params p0..p2 (channel: capacity, flags, codec) |
| 28     | 4    | key length in UTF-8 bytes (1..64)              |
| 32     | 64   | key, UTF-8                                     |

Entries are only appended and never change once complete; the header's entry count is the
commit point. Creating, under the directory lock: re-scan; take room from the bump pointer and
store the new bump BEFORE touching the room (a creator that dies leaks room, never hands out
half-written memory); initialize the object (its tag last); write the entry; store count + 1.
Looking up needs no lock: load the count, read the entries below it. Everything read from an
entry is validated; a bad entry is CORRUPT.
"""

from __future__ import annotations

from .errors import ShmkitError, corrupt
from .header import ALLOCATION_UNIT, ENTRY_BYTES, LOCK_OFFSET, O_BUMP, O_COUNT, HeaderInfo
from .mutex import Mutex

MUTEX, CONDITION, SEMAPHORE, RWLOCK, BARRIER, LATCH, CHANNEL, BYTES, STRUCT = range(1, 10)
KIND_NAMES = {
    MUTEX: "Mutex",
    CONDITION: "Condition",
    SEMAPHORE: "Semaphore",
    RWLOCK: "RwLock",
    BARRIER: "Barrier",
    LATCH: "Latch",
    CHANNEL: "Channel",
    BYTES: "bytes region",
    STRUCT: "struct",
}
#: Bytes of each fixed-size kind (the Node classes' SIZE).
FIXED_SIZES = {MUTEX: 8, CONDITION: 16, SEMAPHORE: 16, RWLOCK: 32, BARRIER: 16, LATCH: 8}
MAX_KEY_BYTES = 64
LOCK_TIMEOUT = 30.0


class Entry:
    __slots__ = ("key", "kind", "offset", "byte_length", "p0", "p1", "p2")

    def __init__(self, key, kind, offset, byte_length, p0, p1, p2):
        self.key, self.kind, self.offset, self.byte_length = key, kind, offset, byte_length
        self.p0, self.p1, self.p2 = p0, p1, p2


def encode_key(key) -> bytes:
    if not isinstance(key, str) or not key:
        raise ShmkitError("INVALID_ARGUMENT", f"a key is a non-empty string, got {key!r}")
    try:
        b = key.encode("utf-8")
    except UnicodeEncodeError:
        raise ShmkitError("INVALID_ARGUMENT", f"key {key!r} contains a lone surrogate") from None
    if len(b) > MAX_KEY_BYTES:
        raise ShmkitError("INVALID_ARGUMENT", f"key {key!r} is {len(b)} UTF-8 bytes; the limit is {MAX_KEY_BYTES}")
    return b


class Directory:
    def __init__(self, mem, info: HeaderInfo, identity, what: str, expected_length):
        self.mem = mem
        self.info = info
        self.what = what
        self.expected_length = expected_length
        self.lock = Mutex(mem, LOCK_OFFSET, identity, "directory lock")
        self.known: dict[str, Entry] = {}
        self.scanned = 0

    def find(self, key: str):
        hit = self.known.get(key)
        if hit is None:
            self._scan()
            hit = self.known.get(key)
        return hit

    def entries(self):
        self._scan()
        return list(self.known.values())

    def get_or_create(self, key: str, key_bytes: bytes, kind: int, length: int, p, describe, init):
        """The entry of ``key`` (INCOMPATIBLE when it is another kind or has other params),
        created with ``init(offset)`` under the directory lock when it does not exist."""
        found = self.find(key)
        if found is not None:
            return self._check(found, kind, length, p, describe)
        self._lock()
        try:
            found = self.find(key)
            if found is not None:
                return self._check(found, kind, length, p, describe)
            index = self._count()
            if index >= self.info.layout.capacity:
                raise ShmkitError(
                    "TOO_LARGE",
                    f"{self.what} has no room for {KIND_NAMES[kind]} {key!r}: its directory is full "
                    f"({self.info.layout.capacity} objects)",
                )
            bump = self.mem.load(O_BUMP)
            start = bump * ALLOCATION_UNIT
            if not (self.info.layout.data_offset <= start <= _aligned(self.info.size)):
                raise corrupt(self.what, f"allocation pointer {start} outside the data area")
            end = start + length
            if end > self.info.size:
                raise ShmkitError(
                    "TOO_LARGE",
                    f"{self.what} has no room for {KIND_NAMES[kind]} {key!r}: it needs {length} bytes, "
                    f"{max(0, self.info.size - start)} of {self.info.size} are left",
                )
            # The room is ours before we touch it.
            self.mem.store(O_BUMP, _aligned(end) // ALLOCATION_UNIT)
            init(start)
            at = self.info.layout.directory_offset + index * ENTRY_BYTES
            for i, v in enumerate((kind, bump, length & 0xFFFFFFFF, length >> 32, p[0], p[1], p[2], len(key_bytes))):
                self.mem.store(at + 4 * i, v)
            self.mem.u8[at + 32 : at + 32 + len(key_bytes)] = key_bytes
            # release: the object and the entry are complete before the count covers them.
            self.mem.store(O_COUNT, index + 1)
            entry = Entry(key, kind, start, length, p[0], p[1], p[2])
            self.known[key] = entry
            self.scanned = index + 1  # find() above scanned every entry below index
            return entry
        finally:
            self.lock.unlock()

    def _lock(self) -> None:
        try:
            self.lock.lock(LOCK_TIMEOUT)
        except ShmkitError as e:
            if e.code == "OWNER_DEAD":
                # A creator that died leaves a committed entry or nothing: nothing to repair.
                self.lock.consistent()
                return
            raise

    def _count(self) -> int:
        # acquire: pairs with the commit store of the count; entries below it are complete.
        n = self.mem.load(O_COUNT)
        if not 0 <= n <= self.info.layout.capacity:
            raise corrupt(self.what, f"directory count {n} (capacity {self.info.layout.capacity})")
        return n

    def _scan(self) -> None:
        n = self._count()
        for i in range(self.scanned, n):
            e = self._read(i)
            if e.key in self.known:
                raise corrupt(self.what, f"two entries for key {e.key!r}")
            self.known[e.key] = e
        if n > self.scanned:
            self.scanned = n

    def _read(self, index: int) -> Entry:
        at = self.info.layout.directory_offset + index * ENTRY_BYTES
        kind, unit, lo, hi, p0, p1, p2, key_len = (self.mem.load(at + 4 * i) for i in range(8))
        where = f"directory entry {index}"
        if kind not in KIND_NAMES:
            raise corrupt(self.what, f"{where} has unknown kind {kind}")
        if not 1 <= key_len <= MAX_KEY_BYTES:
            raise corrupt(self.what, f"{where} has a key of {key_len} bytes")
        try:
            key = bytes(self.mem.u8[at + 32 : at + 32 + key_len]).decode("utf-8")
        except UnicodeDecodeError:
            raise corrupt(self.what, f"{where} has a key that is not UTF-8") from None
        offset = (unit & 0xFFFFFFFF) * ALLOCATION_UNIT
        length = (lo & 0xFFFFFFFF) + (hi & 0xFFFFFFFF) * 2**32
        if not (offset >= self.info.layout.data_offset and length >= 1 and offset + length <= self.info.size):
            raise corrupt(self.what, f"{where} ({key!r}) places {length} bytes at {offset}")
        expected = self.expected_length(kind, p0, p1, length, p2)
        if expected != length:
            raise corrupt(
                self.what, f"{where} ({key!r}): a {KIND_NAMES[kind]} with these params takes {expected} bytes, not {length}"
            )
        return Entry(key, kind, offset, length, p0, p1, p2)

    def _check(self, e: Entry, kind, length, p, describe) -> Entry:
        if e.kind != kind:
            raise ShmkitError("INCOMPATIBLE", f"{e.key!r} in {self.what} is a {KIND_NAMES[e.kind]}, not a {KIND_NAMES[kind]}")
        if e.byte_length != length or (e.p0, e.p1, e.p2) != tuple(p):
            raise ShmkitError(
                "INCOMPATIBLE",
                f"{KIND_NAMES[kind]} {e.key!r} in {self.what} was created with {describe(e.p0, e.p1, e.p2, e.byte_length)}, "
                f"not {describe(p[0], p[1], p[2], length)}",
            )
        return e


def _aligned(n: int) -> int:
    return -(-n // ALLOCATION_UNIT) * ALLOCATION_UNIT
