"""The consumer side of the ring (the Node side's consumer.ts): find the next committed frame, read
it, release its room. The bytes are docs/format.md's ("Channel", "Frames"); the views and the
frame-header reader are ring.py's.

  _ready, _published   readiness: with one producer a frame is ready once tail covers it; with
                       many, once it lies below reserve and its state word holds a positive length.
  SingleConsumer       'one' consumer: the only writer of head; releases by storing the new head.
  MultiConsumer        'many': claims whole frames by CAS on read claim, releases through the marks
                       beside the ring; whoever finds the frame at head marked moves head on
                       (advance_head).

Every value read back from the ring is checked before use; nonsense is CORRUPT.
"""

from __future__ import annotations

from ..errors import ShmkitError
from .layout import FRAME_HEADER, KIND_FIRST, KIND_LAST, KIND_MASK, KIND_MIDDLE, KIND_MSG, KIND_PAD, KIND_SKIP
from .ring import M32, Ring, corrupt


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
    function (see producer.py's SingleProducer); with many it goes through _ready/frame_at."""

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
