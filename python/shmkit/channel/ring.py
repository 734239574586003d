"""The views and constants every ring algorithm needs (the Node side's ring-memory.ts): the Ring,
one channel's header read once and validated, with the frame-header reader every consumer path
uses (frame_at), the zeroing of released room (scrub), the two wakes, and the CORRUPT error. The
bytes are docs/format.md's ("Channel", "Frames"); the algorithms of each side are producer.py and
consumer.py.

Shared words are read through 32-bit memoryviews (a plain aligned ``mov``: Atomics.load on x86)
and written through the atomics helper (``xchg``/``lock cmpxchg``: Atomics.store/compareExchange).
Every value read back from the ring is checked before use; nonsense is CORRUPT.
"""

from __future__ import annotations

from .. import futex
from ..errors import ShmkitError
from .layout import (
    FLAG_MANY_CONSUMERS,
    FLAG_MANY_PRODUCERS,
    FRAME_HEADER,
    HEADER_BYTES,
    KIND_FIRST,
    KIND_LAST,
    KIND_MASK,
    KIND_MSG,
    KIND_PAD,
    KIND_SKIP,
    MAX_MAX_MESSAGE,
    O_CAPACITY,
    O_CLAIM_END,
    O_CLAIM_LOCK,
    O_DATA_SIGNAL,
    O_EXT_BYTES,
    O_EXT_OFFSET,
    O_FLAGS,
    O_HEAD,
    O_MAX_FRAME,
    O_MAX_MESSAGE,
    O_READ_CLAIM,
    O_RECV_SLEEPERS,
    O_RESERVE,
    O_SEND_SLEEPERS,
    O_SPACE_SIGNAL,
    O_TAIL,
    O_VERSION,
    is_capacity,
    marks_bytes,
    max_message_for,
)

M32 = 0xFFFFFFFF


def corrupt(what: str) -> ShmkitError:
    return ShmkitError("CORRUPT", f"channel memory is corrupt: {what}")


class Ring:
    """Views and constants of one channel, read once from its header and validated."""

    def __init__(self, mem, offset: int, length: int):
        if offset < 0 or offset % 128 or offset + length > mem.size or length < HEADER_BYTES:
            raise corrupt(f"a channel of {length} bytes at offset {offset}")
        self.mem = mem
        # Offsets below are from the mapping's start, for the bound atomics (mem.at); abs_*
        # are addresses, for the futex.
        self.at = mem.at
        self.base = offset
        region = mem.u8[offset : offset + length]
        self.words = region[:HEADER_BYTES].cast("i")
        self.uwords = region[:HEADER_BYTES].cast("I")
        cap = self.words[O_CAPACITY // 4]
        if not is_capacity(cap) or HEADER_BYTES + cap > length:
            raise corrupt(f"channel header names a capacity of {cap} bytes")
        flags = self.words[O_FLAGS // 4]
        self.many_producers = bool(flags & FLAG_MANY_PRODUCERS)
        self.many_consumers = bool(flags & FLAG_MANY_CONSUMERS)
        if self.many_consumers and HEADER_BYTES + cap + marks_bytes(cap) > length:
            raise corrupt("channel header names a ring larger than its memory")
        self.v2 = self.words[O_VERSION // 4] >= 2
        mm = self.words[O_MAX_MESSAGE // 4]
        if not self.v2:
            if mm != max_message_for(cap):
                raise corrupt(f"channel header names a max message of {mm} bytes")
            self.max_frame = mm
        else:
            self.max_frame = self.words[O_MAX_FRAME // 4]
            if self.max_frame != max_message_for(cap):
                raise corrupt(f"channel header names a max frame of {self.max_frame} bytes")
            if mm < self.max_frame or mm > MAX_MAX_MESSAGE or (self.many_consumers and mm != self.max_frame):
                raise corrupt(f"channel header names a max message of {mm} bytes")
            ext_bytes = self.words[O_EXT_BYTES // 4]
            ext_at = self.words[O_EXT_OFFSET // 4]
            marks = marks_bytes(cap) if self.many_consumers else 0
            if ext_bytes != 0 and (ext_at != HEADER_BYTES + cap + marks or ext_bytes < 0 or ext_at + ext_bytes > length):
                raise corrupt("channel header names an extension area outside its memory")
        self.capacity = cap
        self.mask = cap - 1
        self.max_message = mm
        self.mm = mem.mm
        self.ring_at = offset + HEADER_BYTES  # the ring's offset in the mapping
        self.ring_words = region[HEADER_BYTES : HEADER_BYTES + cap].cast("i")
        self.ring_base = self.base + HEADER_BYTES
        if self.many_consumers:
            self.marks = region[HEADER_BYTES + cap : HEADER_BYTES + cap + marks_bytes(cap)].cast("i")
            self.marks_base = self.base + HEADER_BYTES + cap
        self.a_tail = self.base + O_TAIL
        self.a_reserve = self.base + O_RESERVE
        #: v1 zeroes released room of many-producer rings (a zero state means "not written yet").
        self.scrub_released = self.many_producers and not self.v2
        self.a_claim_lock = self.base + O_CLAIM_LOCK
        self.a_claim_end = self.base + O_CLAIM_END
        self.a_claim_lock_i = O_CLAIM_LOCK // 4
        self.a_claim_end_i = O_CLAIM_END // 4
        self.a_head = self.base + O_HEAD
        self.a_read_claim = self.base + O_READ_CLAIM
        self.a_data = self.base + O_DATA_SIGNAL
        self.a_space = self.base + O_SPACE_SIGNAL
        self.abs_data = mem.base + self.a_data
        self.abs_space = mem.base + self.a_space
        self.i_tail = O_TAIL // 4
        self.i_reserve = O_RESERVE // 4
        self.i_head = O_HEAD // 4
        self.i_read_claim = O_READ_CLAIM // 4
        self.i_recv_sleepers = O_RECV_SLEEPERS // 4
        self.i_send_sleepers = O_SEND_SLEEPERS // 4

    # Publishers check the sleeper count themselves (one memoryview read, no call on the fast
    # path) and call these only when someone sleeps.
    def wake_receiver(self) -> None:
        self.at.add(self.a_data, 1)
        futex.wake(self.abs_data, 1)

    def wake_sender(self) -> None:
        self.at.add(self.a_space, 1)
        futex.wake(self.abs_space)

    def frame_at(self, pos: int, w0: int, limit: int):
        """(size, kind, len) of the frame at ``pos`` whose state word is ``w0``, validated against
        the ring and the ``limit`` bytes published past ``pos``."""
        idx = pos & self.mask
        if idx & 15:
            raise corrupt(f"a frame position {pos} that is not a multiple of 16")
        w1 = self.ring_words[(idx >> 2) + 1]
        size = w1 & ~KIND_MASK
        kind = w1 & KIND_MASK
        if size < FRAME_HEADER or size > limit or idx + size > self.capacity:
            raise corrupt(f"a frame of {size} bytes at offset {idx} ({limit} bytes published)")
        n = 0
        if kind == KIND_MSG or (self.v2 and KIND_FIRST <= kind <= KIND_LAST):
            n = w0 - 1
            if n < 0 or FRAME_HEADER + n > size:
                raise corrupt(f"a message of {n} bytes in a {size}-byte frame")
            if kind == KIND_FIRST:
                if self.many_consumers:
                    raise corrupt("a fragment in a channel with many consumers")
                total = self.ring_words[(idx >> 2) + 3]
                if total <= n or total > self.max_message:
                    raise corrupt(f"a fragmented message of {total} bytes (max {self.max_message})")
        elif kind == KIND_PAD:
            if idx + size != self.capacity:
                raise corrupt("a padding frame that does not end the ring")
        elif kind != KIND_SKIP:
            raise corrupt(f"a frame of unknown kind {kind}")
        return size, kind, n

    def scrub(self, pos: int, size: int) -> None:
        """Zeroes released frames so stale bytes never read as a committed header (many producers)."""
        at = self.ring_at + (pos & self.mask)
        self.mm[at : at + size] = bytes(size)
