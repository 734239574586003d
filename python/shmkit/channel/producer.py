"""The producer side of the ring (the Node side's producer.ts): claim room for a frame, fill it,
publish it. The bytes are docs/format.md's ("Channel", "Frames"); the views are ring.py's Ring.

  SingleProducer   'one' producer: the only writer of tail; publishes by storing the new tail.
  MultiProducer    'many': claims room (v1: by CAS on reserve; v2: under the claim lock), marks
                   the frame "being written" (negative length), copies, publishes by storing the
                   positive length.

Shared words are written through the atomics helper (see ring.py); the failpoints are the Node
side's.
"""

from __future__ import annotations

import struct

from ..failpoint import FAILPOINT, failpoint
from .claim_lock import lock_claim
from .layout import FRAME_HEADER, KIND_MSG, KIND_PAD, KIND_SKIP
from .ring import M32, Ring, corrupt

_HDR = struct.Struct("<iiii")
_I = struct.Struct("<i")


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
