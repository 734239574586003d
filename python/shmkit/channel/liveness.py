"""Producer liveness (the Node side's liveness.ts): producers register their token on their first
send; a receiver that finds the ring drained and every registered producer dead gets PEER_DEAD;
a frame a dead producer claimed but never committed becomes a SKIP; a frame a dead consumer
claimed ('many' consumers) is released so head can move on."""

from __future__ import annotations


from .layout import KIND_MASK, KIND_SKIP, O_REGISTRY_END, O_REGISTRY_FIRST, O_REGISTRY_OVERFLOW
from .consumer import advance_head
from .ring import M32, Ring, corrupt

_SLOTS = range(O_REGISTRY_FIRST // 4, O_REGISTRY_END // 4)


def register(r: Ring, identity) -> None:
    token = identity.self_token()
    w = r.words
    for i in _SLOTS:
        if w[i] == token:
            return
    for i in _SLOTS:
        if r.at.cas(r.base + i * 4, 0, token) == 0:
            return
    for i in _SLOTS:
        t = w[i]
        if not identity.is_alive(t) and r.at.cas(r.base + i * 4, t, token) == t:
            return
    # No slot: liveness can no longer be judged, so PEER_DEAD is never reported for this channel.
    r.at.store(r.base + O_REGISTRY_OVERFLOW, 1)


def unregister(r: Ring, token: int) -> None:
    for i in _SLOTS:
        r.at.cas(r.base + i * 4, token, 0)


def producers_dead(r: Ring, identity) -> bool:
    """True when at least one producer registered and every registered producer is dead."""
    w = r.words
    if w[O_REGISTRY_OVERFLOW // 4] != 0:
        return False
    seen = False
    for i in _SLOTS:
        t = w[i]
        if t == 0:
            continue
        if identity.is_alive(t):
            return False
        seen = True
    return seen


def skip_dead_claim(r: Ring, identity) -> bool:
    """Commits as a SKIP the next frame when a producer claimed it and died before committing."""
    if not r.many_producers:
        return False  # one producer publishes whole frames or nothing
    pos = r.uwords[r.i_read_claim if r.many_consumers else r.i_head]
    if r.uwords[r.i_reserve] == pos:
        return False
    if pos & 15:
        raise corrupt(f"a frame position {pos} that is not a multiple of 16")
    i = pos & r.mask
    w0 = r.ring_words[i >> 2]
    if w0 >= 0:
        return False
    if identity.is_alive(r.ring_words[(i >> 2) + 2]):
        return False
    w1 = r.ring_words[(i >> 2) + 1]
    r.at.store(r.ring_base + i + 4, (w1 & ~KIND_MASK) | KIND_SKIP)
    # The producer is dead, so nobody else writes this word; the CAS guards against a second
    # receiver doing the same repair at the same time.
    return r.at.cas(r.ring_base + i, w0, 1) == w0


def release_dead_claim(r: Ring, identity) -> bool:
    """Releases the frame at head when the consumer that claimed it died ('many' consumers)."""
    if not r.many_consumers:
        return False
    h = r.uwords[r.i_head]
    if h == r.uwords[r.i_read_claim]:
        return False
    if h & 15:
        raise corrupt(f"a head position {h} that is not a multiple of 16")
    k = (h & r.mask) >> 4
    mark = r.marks[k] & M32
    if mark != h:
        token = r.ring_words[((h & r.mask) >> 2) + 3]
        if token == 0 or identity.is_alive(token):
            return False
        if r.at.cas(r.marks_base + k * 4, mark, h) & M32 != mark:
            return False
    advance_head(r)
    return True
