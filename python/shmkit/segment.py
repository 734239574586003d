"""Segments: named files in /dev/shm (or a directory given as ``dir``) holding a header, a thread
table, a directory of named objects and the objects themselves, in the Node side's format. A
segment named ``jobs`` is the file ``shmkit.jobs``.
"""

from __future__ import annotations

import errno
import mmap
import os
import time

from . import channel as _channel
from . import tags
from . import mutex as _mutex
from .channel.codec import IDS as CODEC_IDS
from .channel.layout import FLAG_MANY_CONSUMERS, FLAG_MANY_PRODUCERS, byte_length, is_capacity
from .deadline import Deadline, validate_timeout
from .directory import BYTES, CHANNEL, FIXED_SIZES, MUTEX, STRUCT, Directory, encode_key
from .errors import ShmkitError, corrupt, invalid_argument
from .header import (
    FIXED_HEADER_BYTES,
    LOCK_OFFSET,
    MAX_OBJECTS,
    MAX_SEGMENT_BYTES,
    MAX_THREADS,
    O_MAGIC,
    layout_for,
    publish_header,
    read_creator,
    read_header,
    write_header,
)
from .identity import Identity
from .memory import Memory
from .proc import is_alive, self_start_time

SHM_DIR = "/dev/shm"
FILE_PREFIX = "shmkit."
MAX_NAME_BYTES = 200
INIT_GRACE = 2.0
DEFAULT_THREADS = 128
DEFAULT_OBJECTS = 128

_open_counts: dict[str, int] = {}


def validate_name(name) -> str:
    problem = None
    if not isinstance(name, str):
        problem = "a segment name is a string"
    elif not name:
        problem = "it is empty"
    elif "/" in name:
        problem = "it contains '/': names are not paths (use dir= for another directory)"
    elif ".." in name:
        problem = "it contains '..'"
    elif any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        problem = "it contains NUL or another control character"
    else:
        try:
            if len(name.encode("utf-8")) > MAX_NAME_BYTES:
                problem = f"it is longer than {MAX_NAME_BYTES} UTF-8 bytes"
        except UnicodeEncodeError:
            problem = "it contains a lone surrogate"
    if problem:
        raise invalid_argument(f"invalid segment name {name!r}: {problem}")
    return name


def _path(name: str, dir) -> str:
    if dir is None:
        return os.path.join(SHM_DIR, FILE_PREFIX + name)
    if not isinstance(dir, str) or not dir or "\0" in dir:
        raise invalid_argument(f"dir must be a non-empty path without NUL, got {dir!r}")
    return os.path.join(os.path.abspath(dir), FILE_PREFIX + name)


def _os_error(e: OSError, path: str, size: int | None = None) -> ShmkitError:
    if e.errno == errno.EEXIST:
        return ShmkitError("EXISTS", f"{path} exists")
    if e.errno == errno.ENOENT:
        return ShmkitError("NOT_FOUND", f"{path} does not exist")
    if e.errno in (errno.EACCES, errno.EPERM):
        return ShmkitError("PERMISSION", f"no permission for {path}")
    if e.errno in (errno.ENOSPC, errno.ENOMEM, errno.EFBIG):
        return ShmkitError("TOO_LARGE", f"no room for {size} bytes at {path} ({e.strerror})")
    if e.errno == errno.ELOOP:
        return invalid_argument(f"{path} is a symbolic link")
    return ShmkitError("INVALID_ARGUMENT", f"{path}: {e.strerror}")


class _Either:
    """``Segment.unlink(name)`` on the class, ``seg.unlink()`` on an instance."""

    def __init__(self, cls_fn, inst_fn):
        self.cls_fn, self.inst_fn = cls_fn, inst_fn

    def __get__(self, obj, cls):
        if obj is None:
            return self.cls_fn.__get__(cls, cls)
        return self.inst_fn.__get__(obj, cls)


class Segment:
    """A named shared-memory segment, shared with Node processes using @shmkit/segment.

    >>> seg = Segment.create("jobs", size=1 << 20)       # or Segment.open("jobs", timeout=5.0)
    >>> seg.channel("q", codec="utf8").send("hello")
    """

    def __init__(self, name: str, path: str, mem: Memory, info):
        self.name = name
        self.path = path
        self.size = mem.size
        self._what = f"segment {name!r}"
        self._mem = mem
        self._info = info
        lay = info.layout
        self._identity = Identity(self._mem, lay.table_offset, lay.threads)
        if self._mem.load(LOCK_OFFSET) not in tags.MUTEX_TAGS:
            raise corrupt(self._what, "its directory lock is not a Mutex")
        self._dir = Directory(self._mem, info, self._identity, self._what, _expected_length)
        self._objects: dict = {}
        self._channels: list = []
        self._closed = False
        _open_counts[info.id] = _open_counts.get(info.id, 0) + 1

    # ---- create, open, unlink ----

    @classmethod
    def create(
        cls,
        name: str,
        size: int,
        *,
        mode: int = 0o600,
        exclusive: bool = True,
        dir: str | None = None,
        max_objects: int = DEFAULT_OBJECTS,
        max_threads: int = DEFAULT_THREADS,
    ) -> "Segment":
        """Creates segment ``name`` of ``size`` bytes (header included). EXISTS when it exists
        (unless ``exclusive=False``: then it is opened and must have this size), TOO_LARGE when
        /dev/shm has no room, PERMISSION, INVALID_ARGUMENT."""
        validate_name(name)
        path = _path(name, dir)
        for v, what, lo, hi in ((mode, "mode", 0, 0o777), (max_objects, "max_objects", 1, MAX_OBJECTS), (max_threads, "max_threads", 1, MAX_THREADS)):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise invalid_argument(f"{what} must be an integer from {lo} to {hi}, got {v!r}")
        lay = layout_for(max_threads, max_objects)
        if isinstance(size, bool) or not isinstance(size, int) or size < lay.data_offset or size > MAX_SEGMENT_BYTES:
            raise invalid_argument(f"size must be an integer of at least {lay.data_offset} bytes, got {size!r}")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
        except FileExistsError:
            if exclusive:
                raise ShmkitError("EXISTS", f"segment {name!r} exists ({path})") from None
            seg = cls.open(name, dir=dir)
            if seg.size != size:
                raise ShmkitError("INCOMPATIBLE", f"segment {name!r} exists with {seg.size} bytes, not {size}")
            return seg
        except OSError as e:
            raise _os_error(e, path, size) from None
        try:
            try:
                os.fchmod(fd, mode)  # exactly, whatever the umask
                os.posix_fallocate(fd, 0, size)  # reserve every page now: a full /dev/shm fails here
                mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            except OSError as e:
                raise _os_error(e, path, size) from None
            finally:
                os.close(fd)
            mem = Memory(mm, size, f"segment {name!r}")
            write_header(mem, size, lay, os.getpid(), self_start_time())
            _mutex.init(mem, LOCK_OFFSET)
            publish_header(mem)
            info = read_header(mem, size, f"segment {name!r}")
        except BaseException:
            try:
                os.unlink(path)
            except OSError:
                pass
            raise
        return cls(name, path, mem, info)

    @classmethod
    def open(cls, name: str, timeout: float | None = None, *, dir: str | None = None) -> "Segment":
        """Opens segment ``name``: NOT_FOUND at once when it does not exist, or after ``timeout``
        seconds of waiting for its creator. CORRUPT (not a valid segment), INCOMPATIBLE (another
        layout version), PERMISSION (owned by another user)."""
        validate_name(name)
        timeout = validate_timeout(timeout)
        path = _path(name, dir)
        what = f"segment {name!r}"
        deadline = Deadline(timeout or 0.0)
        seen_at = None
        pause = 0.001
        while True:
            found = cls._try_open(path, what)
            if isinstance(found, tuple):
                mem, info = found
                return cls(name, path, mem, info)
            if found == "exists" and seen_at is None:
                seen_at = time.monotonic()
            left = deadline.remaining()
            if seen_at is not None:
                left = max(left, INIT_GRACE - (time.monotonic() - seen_at))
            if left <= 0:
                if found == "missing":
                    extra = f", nor appeared within {timeout} s" if timeout else ""
                    raise ShmkitError("NOT_FOUND", f"{what} does not exist ({path}){extra}")
                raise ShmkitError("NOT_FOUND", f"{what} exists but its creator has not finished creating it ({path})")
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)

    @staticmethod
    def _try_open(path: str, what: str):
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return "missing"
        except OSError as e:
            raise _os_error(e, path) from None
        try:
            st = os.fstat(fd)
            import stat  # noqa: PLC0415

            if not stat.S_ISREG(st.st_mode):
                raise invalid_argument(f"{path} is not a regular file")
            if st.st_uid != os.getuid():
                raise ShmkitError("PERMISSION", f"{what} belongs to uid {st.st_uid}, not to this user")
            size = st.st_size
            if size == 0:
                return "exists"  # its creator has not sized it yet
            if size < FIXED_HEADER_BYTES:
                raise corrupt(what, f"{size} bytes is too small for a segment header")
            mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        mem = Memory(mm, size, what)
        # acquire: pairs with the creator's publication of the magic.
        if mem.load(O_MAGIC) != 0:
            return mem, read_header(mem, size, what)
        pid, start = read_creator(mem)
        mem.close()
        if pid != 0 and not is_alive(pid, start):
            raise corrupt(what, f"its creator (pid {pid}) died before it finished the header: unlink it")
        return "exists"

    @classmethod
    def _unlink_name(cls, name: str, *, dir: str | None = None) -> bool:
        """Removes segment ``name``; False when it did not exist. Processes that have it open go on."""
        validate_name(name)
        try:
            os.unlink(_path(name, dir))
            return True
        except FileNotFoundError:
            return False
        except OSError as e:
            raise _os_error(e, _path(name, dir)) from None

    def _unlink_self(self) -> bool:
        try:
            os.unlink(self.path)
            return True
        except FileNotFoundError:
            return False

    unlink = _Either(_unlink_name.__func__, _unlink_self)

    # ---- objects ----

    def mutex(self, key: str) -> _mutex.Mutex:
        """The Mutex named ``key`` (get-or-create; INCOMPATIBLE when ``key`` is another kind)."""
        hit = self._objects.get(("m", key))
        if hit is not None:
            return hit
        e = self._object(key, MUTEX, FIXED_SIZES[MUTEX], (0, 0, 0), lambda at: _mutex.init(self._mem, at))
        if self._mem.load(e.offset) not in tags.MUTEX_TAGS:
            raise corrupt(self._what, f"no Mutex at the offset its directory entry {key!r} gives")
        m = _mutex.Mutex(self._mem, e.offset, self._identity, key)
        self._objects[("m", key)] = m
        return m

    def channel(self, key: str, *, capacity: int = 1 << 20, codec: str = "bytes", producers: str = "one", consumers: str = "one"):
        """The Channel named ``key``. capacity (ring bytes, a power of two, 256..2^30), codec
        ('bytes', 'utf8', 'msgpack'), producers and consumers ('one' or 'many') must be what
        every process (Python or Node) asks for: INCOMPATIBLE otherwise."""
        if not is_capacity(capacity):
            raise invalid_argument(f"capacity must be a power of two from 256 to 2^30, got {capacity!r}")
        if producers not in ("one", "many") or consumers not in ("one", "many"):
            raise invalid_argument("producers and consumers must be 'one' or 'many'")
        if codec not in CODEC_IDS:
            raise invalid_argument(f"unknown codec {codec!r}: use 'bytes', 'utf8' or 'msgpack'")
        many_p, many_c = producers == "many", consumers == "many"
        flags = (FLAG_MANY_PRODUCERS if many_p else 0) | (FLAG_MANY_CONSUMERS if many_c else 0)
        msgpack = codec == "msgpack"
        length = byte_length(capacity, many_c, msgpack)
        e = self._object(
            key,
            CHANNEL,
            length,
            (capacity, flags, CODEC_IDS[codec]),
            lambda at: _channel.init(self._mem, at, capacity, many_p, many_c, msgpack),
        )
        ch = _channel.Channel(self._mem, e.offset, e.byte_length, self._identity, codec, key)
        self._channels.append(ch)
        return ch

    def bytes(self, key: str, byte_length: int) -> memoryview:
        """The raw byte region named ``key`` (zeroed when created). Unsynchronized: guard it."""
        if isinstance(byte_length, bool) or not isinstance(byte_length, int) or byte_length < 1:
            raise invalid_argument(f"byte_length must be a positive integer, got {byte_length!r}")
        e = self._object(key, BYTES, byte_length, (0, 0, 0), lambda at: None)
        return self._mem.u8[e.offset : e.offset + e.byte_length]

    def objects(self):
        """(key, kind name, offset, byte length) of every named object."""
        from .directory import KIND_NAMES  # noqa: PLC0415

        self._check_open()
        return [(e.key, KIND_NAMES[e.kind], e.offset, e.byte_length) for e in self._dir.entries()]

    def close(self) -> None:
        """Stops counting this thread as a producer of the channels it got here and, when no other
        Segment object of this process uses the segment, gives this thread's slot back. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for ch in self._channels:
            ch.unregister()
        self._channels.clear()
        n = _open_counts.get(self._info.id, 1) - 1
        if n > 0:
            _open_counts[self._info.id] = n
        else:
            _open_counts.pop(self._info.id, None)
            self._identity.release()

    def __enter__(self) -> "Segment":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _object(self, key, kind, length, params, init):
        key_bytes = encode_key(key)
        self._check_open()
        return self._dir.get_or_create(key, key_bytes, kind, length, params, _describe(kind), init)

    def _check_open(self) -> None:
        if self._closed:
            raise ShmkitError("CLOSED", f"this Segment object ({self.name!r}) was closed")


def _expected_length(kind: int, p0: int, p1: int, length: int, p2: int = 0):
    if kind in FIXED_SIZES:
        return FIXED_SIZES[kind]
    if kind == CHANNEL:
        if not is_capacity(p0) or p1 & ~(FLAG_MANY_PRODUCERS | FLAG_MANY_CONSUMERS):
            return None
        return byte_length(p0, bool(p1 & FLAG_MANY_CONSUMERS), p2 == CODEC_IDS["msgpack"])
    if kind == STRUCT:
        # p0 layout hash, p1 element count, p2 element bytes | 0x40000000 for a structArray.
        element = p2 & 0x3FFFFFFF
        if p1 < 1 or element < 1 or p2 & ~0x7FFFFFFF:
            return None
        return p1 * element
    return length  # bytes


def _describe(kind: int):
    names = {v: k for k, v in CODEC_IDS.items()}

    def describe(p0, p1, p2, length):
        if kind == CHANNEL:
            return (
                f"capacity {p0}, producers {'many' if p1 & 1 else 'one'!r}, consumers "
                f"{'many' if p1 & 2 else 'one'!r}, codec {names.get(p2, 'a custom codec')}"
            )
        if kind == BYTES:
            return f"{length} bytes"
        return "no parameters"

    return describe
