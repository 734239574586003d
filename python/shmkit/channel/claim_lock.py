"""The claim lock of a many-producer ring, layout version 2 (the Node side's claim-lock.ts).

    1. CAS(claim lock, 0, token)          only the holder writes reserve and claim end
    2. r = reserve; check room against head
    3. store(claim end, r + need)
    4. write each frame's header (words 1-3, then state -(len + 1); a PAD first at the wrap)
    5. store(reserve, r + need)           release: consumers see whole headers below it
    6. store(claim lock, 0)

A survivor that finds the lock held by a dead token takes it over with a CAS: claim end - reserve
is 0 when the holder died before 3 or after 5 (nothing to do), otherwise it covers
[reserve, claim end) with a SKIP (after a PAD if it spans the wrap) and moves reserve there.
"""

from __future__ import annotations

import struct

from ..identity import LIVENESS_SLICE  # noqa: F401 -- documents the slice receivers recover in
from .layout import KIND_PAD, KIND_SKIP
from .ring import corrupt

SPINS_PER_CHECK = 4096
M32 = 0xFFFFFFFF
_W123 = struct.Struct("<iii")


def lock_claim(r, identity, token: int) -> None:
    """Takes the claim lock, spinning (it is held for a few stores); takes it over from a dead holder."""
    cas = r.at.cas
    spins = 0
    while True:
        # acquire: the previous holder's stores of reserve and claim end happen before its unlock.
        holder = cas(r.a_claim_lock, 0, token)
        if holder == 0:
            return
        if holder == token:
            raise corrupt("the claim lock is already held by this thread")
        spins += 1
        if spins % SPINS_PER_CHECK == 0 and identity is not None:
            if not identity.is_alive(holder) and _take_over(r, holder, token):
                return


def recover_claim_lock(r, identity) -> bool:
    """If a dead producer holds the claim lock, finishes its claim and releases the lock."""
    if not (r.v2 and r.many_producers):
        return False
    holder = r.words[r.a_claim_lock_i]
    if holder == 0 or identity.is_alive(holder):
        return False
    if not _take_over(r, holder, identity.self_token()):
        return False
    r.at.store(r.a_claim_lock, 0)
    return True


def _take_over(r, holder: int, token: int) -> bool:
    at = r.at
    # The holder is dead: only another survivor can change the word, and one of us wins.
    if at.cas(r.a_claim_lock, holder, token) != holder:
        return False
    try:
        rs = r.uwords[r.i_reserve]
        end = r.uwords[r.a_claim_end_i]
        d = (end - rs) & M32
        if d == 0:
            return True
        used = (rs - r.uwords[r.i_head]) & M32
        if used > r.capacity or d > r.capacity - used or d & 15 or rs & 15:
            raise corrupt(f"a claim of {d} bytes at {rs} ({used} in use)")
        # Nothing in [rs, end) is published (reserve is below it): overwrite it freely.
        idx = rs & r.mask
        room = r.capacity - idx
        if d > room:
            _done(r, idx, room | KIND_PAD, holder)
            _done(r, 0, (d - room) | KIND_SKIP, holder)
        else:
            _done(r, idx, d | KIND_SKIP, holder)
        # release: the SKIP headers are visible to a consumer that loads the new reserve.
        at.store(r.a_reserve, end)
        r.wake_receiver()
        return True
    except BaseException:
        at.store(r.a_claim_lock, 0)
        raise


def _done(r, idx: int, size_kind: int, token: int) -> None:
    _W123.pack_into(r.mm, r.ring_at + idx + 4, size_kind, token, 0)
    r.at.store(r.ring_base + idx, 1)
