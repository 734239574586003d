"""The ring algorithms, one class per side and flavor (the Node side's producer.ts/consumer.ts):

  SingleProducer   'one' producer: the only writer of tail; publishes by storing the new tail.
  MultiProducer    'many': claims room by CAS on reserve, marks the frame "being written"
                   (negative length), copies, publishes by storing the positive length.
  SingleConsumer   'one' consumer: the only writer of head; releases by storing the new head.
  MultiConsumer    'many': claims whole frames by CAS on read claim, releases through the marks
                   beside the ring; whoever finds the frame at head marked moves head on.

Shared words are read through 32-bit memoryviews (a plain aligned ``mov``: Atomics.load on x86)
and written through the atomics helper (``xchg``/``lock cmpxchg``: Atomics.store/compareExchange).
Every value read back from the ring is checked before use; nonsense is CORRUPT.
"""

from __future__ import annotations

import struct

from .. import futex
from ..errors import ShmkitError
from ..failpoint import FAILPOINT, failpoint
from .claim_lock import lock_claim
from .layout import (
    FLAG_MANY_CONSUMERS,
    FLAG_MANY_PRODUCERS,
    FRAME_HEADER,
    HEADER_BYTES,
    KIND_MASK,
    KIND_MSG,
    KIND_PAD,
    KIND_SKIP,
    O_CAPACITY,
    O_FLAGS,
    O_HEAD,
    O_CLAIM_END,
    O_CLAIM_LOCK,
    O_EXT_BYTES,
    O_EXT_OFFSET,
    O_MAX_FRAME,
    O_MAX_MESSAGE,
    O_VERSION,
    MAX_MAX_MESSAGE,
    KIND_FIRST,
    KIND_MIDDLE,
    KIND_LAST,
    O_READ_CLAIM,
    O_RECV_SLEEPERS,
    O_RESERVE,
    O_SEND_SLEEPERS,
    O_SPACE_SIGNAL,
    O_DATA_SIGNAL,
    O_TAIL,
    is_capacity,
    marks_bytes,
    max_message_for,
)

M32 = 0xFFFFFFFF
_HDR = struct.Struct("<iiii")
_W01 = struct.Struct("<ii")
_I = struct.Struct("<i")


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


class SingleProducer:
    """'one' producer: the only writer of tail. The send path is one function with its constants
    bound to the object: in Python every attribute lookup costs about as much as an instruction
    sequence in JavaScript, and the only call out is the publishing store."""

    def __init__(self, r: Ring, token: int):
        self.r = r
        self.token = token
        self.uw = r.uwords
        self.words = r.words
        self.mm = r.mm
        self.cap = r.capacity
        self.mask = r.mask
        self.ring_at = r.ring_at
        self.store = r.at.store
        self.a_tail = r.a_tail
        self.i_tail = r.i_tail
        self.i_head = r.i_head
        self.i_sleepers = r.i_recv_sleepers
        self.cached_head = r.uwords[r.i_head]

    def try_send(self, data) -> bool:
        """Copies ``data`` into a new frame and publishes it; False when the ring has no room."""
        n = len(data)
        frame = (n + 31) & ~15  # header + payload, padded to 16
        cap = self.cap
        t = self.uw[self.i_tail]
        idx = t & self.mask
        room = cap - idx
        need = frame if frame <= room else room + frame
        if ((t - self.cached_head) & M32) + need > cap:
            # acquire: pairs with the consumer's store of head; the room it freed is ours.
            self.cached_head = self.uw[self.i_head]
            if ((t - self.cached_head) & M32) + need > cap:
                return False
        mm = self.mm
        if frame > room:
            # Pad to the end of the ring; published together with the frame, by the tail store.
            _HDR.pack_into(mm, self.ring_at + idx, 1, room | KIND_PAD, self.token, 0)
            t = (t + room) & M32
            idx = 0
        at = self.ring_at + idx
        _HDR.pack_into(mm, at, n + 1, frame | KIND_MSG, self.token, 0)
        mm[at + 16 : at + 16 + n] = data
        if FAILPOINT is not None:
            failpoint("channel.before-commit")
        # release: makes the frame (header and payload) visible to the consumer's load of tail
        # (xchg: also orders it before the sleeper check below, which a plain store would not).
        self.store(self.a_tail, t + frame)
        if self.words[self.i_sleepers]:
            self.r.wake_receiver()
        return True


class MultiProducer:
    """'many' producers. v1: claim by CAS on reserve, publish each frame's state word. v2: claim
    under the claim lock (see claim_lock.py), then copy and publish each frame's state word."""

    def __init__(self, r: Ring, token: int, identity=None):
        self.r = r
        self.token = token
        self.identity = identity
        self.cached_head = r.uwords[r.i_head]
        if r.v2:
            self.try_send = self._try_send_v2

    def _try_send_v2(self, data) -> bool:
        r = self.r
        n = len(data)
        frame = (n + 31) & ~15
        cap = r.capacity
        at = r.at
        lock_claim(r, self.identity, self.token)
        try:
            rs = r.uwords[r.i_reserve]
            idx = rs & r.mask
            if idx & 15:
                raise corrupt(f"a reserve position {rs} that is not a multiple of 16")
            room = cap - idx
            need = frame if frame <= room else room + frame
            if ((rs - self.cached_head) & M32) + need > cap:
                # acquire: pairs with the consumers' store of head.
                self.cached_head = r.uwords[r.i_head]
                if ((rs - self.cached_head) & M32) + need > cap:
                    return False
            # The intent first: a survivor can finish [reserve, claim end) if we die from here.
            at.store(r.a_claim_end, rs + need)
            if FAILPOINT is not None:
                failpoint("channel.after-claim")
            mm = r.mm
            if frame > room:
                _HDR.pack_into(mm, r.ring_at + idx, 0, room | KIND_PAD, self.token, 0)
                at.store(r.ring_base + idx, 1)  # a PAD is committed as soon as it is written
                idx = 0
            _HDR.pack_into(mm, r.ring_at + idx, 0, frame | KIND_MSG, self.token, 0)
            # "Being written": a consumer reaching this frame waits for the positive length.
            at.store(r.ring_base + idx, -(n + 1))
            # release: consumers see whole headers below the new reserve.
            at.store(r.a_reserve, rs + need)
        finally:
            at.store(r.a_claim_lock, 0)
        p = r.ring_at + idx + FRAME_HEADER
        try:
            mm[p : p + n] = data
        except BaseException:
            _I.pack_into(mm, r.ring_at + idx + 4, frame | KIND_SKIP)
            at.store(r.ring_base + idx, 1)
            raise
        if FAILPOINT is not None:
            failpoint("channel.before-commit")
        # release: publishes the payload to the consumer that loads this state word.
        at.store(r.ring_base + idx, n + 1)
        if r.words[r.i_recv_sleepers]:
            r.wake_receiver()
        return True

    def try_send(self, data) -> bool:
        r = self.r
        n = len(data)
        frame = (n + 31) & ~15
        cap = r.capacity
        while True:
            rs = r.uwords[r.i_reserve]
            idx = rs & r.mask
            room = cap - idx
            need = frame if frame <= room else room + frame
            if ((rs - self.cached_head) & M32) + need > cap:
                self.cached_head = r.uwords[r.i_head]
                if ((rs - self.cached_head) & M32) + need > cap:
                    return False
            if idx & 15:
                raise corrupt(f"a reserve position {rs} that is not a multiple of 16")
            # The claim: from here [rs, rs + need) is ours alone.
            if r.at.cas(r.a_reserve, rs, rs + need) & M32 == rs:
                break
        mm = r.mm
        if frame > room:
            _HDR.pack_into(mm, r.ring_at + idx, 0, room | KIND_PAD, self.token, 0)
            # release: the padding is complete the moment its state word is stored.
            r.at.store(r.ring_base + idx, 1)
            idx = 0
        at = r.ring_at + idx
        _HDR.pack_into(mm, at, 0, frame | KIND_MSG, self.token, 0)
        # "Being written": a consumer reaching this frame waits for the positive length.
        r.at.store(r.ring_base + idx, -(n + 1))
        if FAILPOINT is not None:
            failpoint("channel.after-claim")
        try:
            mm[at + FRAME_HEADER : at + FRAME_HEADER + n] = data
        except BaseException:
            # Give the claim back as a SKIP (an interrupt mid-copy must not wedge the ring).
            _I.pack_into(mm, at + 4, frame | KIND_SKIP)
            r.at.store(r.ring_base + idx, 1)
            raise
        if FAILPOINT is not None:
            failpoint("channel.before-commit")
        # release: publishes the payload to the consumer that loads this state word.
        r.at.store(r.ring_base + idx, n + 1)
        if r.words[r.i_recv_sleepers]:
            r.wake_receiver()
        return True


def _ready(r: Ring, pos: int, tail_cache: list) -> int:
    """The state word of the frame at ``pos`` if it is ready to read, else 0."""
    if not r.many_producers:
        seen = (tail_cache[0] - pos) & M32
        if seen == 0 or seen > r.capacity:
            # acquire: pairs with the producer's store of tail; frames below it are complete.
            tail_cache[0] = r.uwords[r.i_tail]
            if tail_cache[0] == pos:
                return 0
        idx = pos & r.mask
        if idx & 15:
            raise corrupt(f"a frame position {pos} that is not a multiple of 16")
        w0 = r.ring_words[idx >> 2]
        if w0 <= 0:
            raise corrupt(f"published frame with state {w0} at offset {idx}")
        return w0
    # Only a claimed position holds a header of this lap (see consumer.ts on the Node side).
    if r.uwords[r.i_reserve] == pos:
        return 0
    idx = pos & r.mask
    if idx & 15:
        raise corrupt(f"a frame position {pos} that is not a multiple of 16")
    # acquire: pairs with the producer's store of the positive length.
    w0 = r.ring_words[idx >> 2]
    if w0 > 0:
        return w0
    if -(r.max_frame + 1) <= w0 < 0:
        return 0  # claimed, being written
    if w0 == 0 and not r.v2:
        return 0  # v1: claimed room whose header is not written yet (room is scrubbed on release)
    raise corrupt(f"frame state {w0} at offset {idx}")


def _published(r: Ring, pos: int, tail_cache: list) -> int:
    end = r.uwords[r.i_reserve] if r.many_producers else tail_cache[0]
    n = (end - pos) & M32
    if n > r.capacity:
        raise corrupt(f"{n} bytes published in a ring of {r.capacity}")
    return n


EMPTY = object()


class SingleConsumer:
    """'one' consumer: the only writer of head. With one producer the receive path is one
    function (see SingleProducer); with many it goes through _ready/frame_at."""

    def __init__(self, r: Ring, token: int):
        self.r = r
        self.tail = [r.uwords[r.i_tail]]
        self.uw = r.uwords
        self.words = r.words
        self.ring_words = r.ring_words
        self.mm = r.mm
        self.cap = r.capacity
        self.mask = r.mask
        self.ring_at = r.ring_at
        self.store = r.at.store
        self.a_head = r.a_head
        self.i_head = r.i_head
        self.i_tail = r.i_tail
        self.i_sleepers = r.i_send_sleepers
        self.single = not r.many_producers
        #: v2 fragments being reassembled, by producer token: [buffer, bytes filled].
        self.partials: dict = {}

    def try_take(self, decode):
        """decode(payload bytes) of the next message, or EMPTY when none is ready."""
        if not self.single:
            return self._take_many_producers(decode)
        uw = self.uw
        while True:
            h = uw[self.i_head]
            published = (self.tail[0] - h) & M32
            if published == 0 or published > self.cap:
                # acquire: pairs with the producer's store of tail; frames below it are complete.
                self.tail[0] = uw[self.i_tail]
                published = (self.tail[0] - h) & M32
                if published == 0:
                    return EMPTY
                if published > self.cap:
                    raise corrupt(f"{published} bytes published in a ring of {self.cap}")
            idx = h & self.mask
            if idx & 15:
                raise corrupt(f"a frame position {h} that is not a multiple of 16")
            w = idx >> 2
            w0 = self.ring_words[w]
            w1 = self.ring_words[w + 1]
            size = w1 & ~7
            kind = w1 & 7
            if size < 16 or size > published or idx + size > self.cap:
                raise corrupt(f"a frame of {size} bytes at offset {idx} ({published} bytes published)")
            if kind == KIND_MSG:
                n = w0 - 1
                if n < 0 or n + 16 > size:
                    raise corrupt(f"a message of {n} bytes in a {size}-byte frame (state {w0})")
                if self.partials:
                    self.partials.pop(self.ring_words[w + 2], None)  # that producer gave up a message
                at = self.ring_at + idx + 16
                try:
                    return decode(self.mm[at : at + n])
                finally:
                    # Consumed even if it cannot be decoded: a bad message must not wedge the ring.
                    self.release(h, size)
            if w0 <= 0:
                raise corrupt(f"published frame with state {w0} at offset {idx}")
            if kind == KIND_PAD:
                if idx + size != self.cap:
                    raise corrupt("a padding frame that does not end the ring")
            elif KIND_FIRST <= kind <= KIND_LAST and self.r.v2:
                self.r.frame_at(h, w0, published)  # validates the fragment (and FIRST's length)
                whole = self._fragment(h, kind, w0 - 1, size)
                if whole is not None:
                    return decode(whole)
                continue
            elif kind != KIND_SKIP:
                raise corrupt(f"a frame of unknown kind {kind}")
            self.release(h, size)  # padding or a skipped claim: nothing to deliver

    def _take_many_producers(self, decode):
        r = self.r
        while True:
            h = self.uw[self.i_head]
            w0 = _ready(r, h, self.tail)
            if w0 == 0:
                return EMPTY
            size, kind, n = r.frame_at(h, w0, _published(r, h, self.tail))
            if kind == KIND_MSG:
                if self.partials:
                    self.partials.pop(self.ring_words[((h & self.mask) >> 2) + 2], None)
                at = self.ring_at + (h & self.mask) + FRAME_HEADER
                try:
                    return decode(self.mm[at : at + n])
                finally:
                    self.release(h, size)
            if KIND_FIRST <= kind <= KIND_LAST:
                whole = self._fragment(h, kind, n, size)
                if whole is not None:
                    return decode(whole)
                continue
            self.release(h, size)

    def _fragment(self, h: int, kind: int, n: int, size: int):
        """Adds a fragment (v2) to its producer's message; the whole message after its LAST.
        A fragment without its FIRST, or fragments that overflow or fall short, are CORRUPT."""
        w = (h & self.mask) >> 2
        token = self.ring_words[w + 2]
        at = self.ring_at + (h & self.mask) + FRAME_HEADER
        try:
            if kind == KIND_FIRST:
                buf = bytearray(self.ring_words[w + 3])  # validated against max message by frame_at
                buf[:n] = self.mm[at : at + n]
                self.partials[token] = [buf, n]
                return None
            p = self.partials.get(token)
            if p is None:
                raise corrupt("a message fragment without its first part")
            buf, filled = p
            if filled + n > len(buf):
                raise corrupt("message fragments longer than their message")
            buf[filled : filled + n] = self.mm[at : at + n]
            p[1] = filled + n
            if kind == KIND_MIDDLE:
                return None
            del self.partials[token]
            if p[1] != len(buf):
                raise corrupt(f"a fragmented message {len(buf) - p[1]} bytes short")
            return bytes(buf)
        finally:
            self.release(h, size)

    def drop_dead(self, identity) -> None:
        """Drops the partial messages of producers that died: never delivered torn."""
        for token in [t for t in self.partials if not identity.is_alive(t)]:
            del self.partials[token]

    def release(self, pos: int, size: int) -> None:
        if self.r.scrub_released:
            self.r.scrub(pos, size)
        # release: the room is free for producers once they load the new head (xchg: also
        # orders it before the sleeper check, so a sender that counted itself is woken).
        self.store(self.a_head, pos + size)
        if self.words[self.i_sleepers]:
            self.r.wake_sender()


class MultiConsumer:
    """'many' consumers: claim frames by CAS on the read claim, release through the marks."""

    def __init__(self, r: Ring, token: int):
        self.r = r
        self.token = token
        self.tail = [r.uwords[r.i_tail]]

    def try_take(self, decode):
        r = self.r
        while True:
            c = r.uwords[r.i_read_claim]
            try:
                w0 = _ready(r, c, self.tail)
                if w0 == 0:
                    return EMPTY
                size, kind, n = r.frame_at(c, w0, _published(r, c, self.tail))
            except ShmkitError:
                # Another consumer may have taken and recycled this frame since we read the claim.
                if r.uwords[r.i_read_claim] != c:
                    continue
                raise
            # The claim: the frame at c is ours alone if the read claim still pointed at it.
            if r.at.cas(r.a_read_claim, c, c + size) & M32 != c:
                continue
            # Say who holds it, so survivors can release it if we die first.
            r.at.store(r.ring_base + (c & r.mask) + 12, self.token)
            if kind == KIND_MSG:
                at = r.ring_at + (c & r.mask) + FRAME_HEADER
                try:
                    return decode(r.mm[at : at + n])
                finally:
                    self.release(c, size)
            self.release(c, size)

    def release(self, pos: int, size: int) -> None:
        r = self.r
        # release: our reads of the frame happen before an advancer lets producers reuse it.
        r.at.store(r.marks_base + ((pos & r.mask) >> 4) * 4, pos)
        advance_head(r)


def advance_head(r: Ring) -> None:
    """Moves head past every released frame at its front (many consumers)."""
    while True:
        h = r.uwords[r.i_head]
        if h == r.uwords[r.i_read_claim]:
            return
        if h & 15:
            raise corrupt(f"a head position {h} that is not a multiple of 16")
        k = (h & r.mask) >> 4
        # Winning this CAS makes us the only one who may move head past h.
        if r.at.cas(r.marks_base + k * 4, h, h | 1) & M32 != h:
            return
        size = r.ring_words[((h & r.mask) >> 2) + 1] & ~KIND_MASK
        if size <= 0 or (h & r.mask) + size > r.capacity:
            raise corrupt(f"a released frame of {size} bytes")
        if r.scrub_released:
            r.scrub(h, size)
        # release: room before the new head may now be overwritten by producers.
        r.at.store(r.a_head, h + size)
        if r.words[r.i_send_sleepers]:
            r.wake_sender()
