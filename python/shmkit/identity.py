"""The thread table of a segment: who holds a lock, as a 29-bit token stamped into lock words.

Same table and tokens as the Node side's ProcessIdentity (docs/format.md, "Thread table"):

    token = generation << 12 | (slot + 1)      slot 0..4094, generation 17 bits

Slots of 8 words (32 bytes), zeroed memory = empty table:
| word | field                                   | written by                                      |
|------|-----------------------------------------|-------------------------------------------------|
| 0    | state: bit 0 LIVE, bits 1-17 generation | claimer (store LIVE); releaser, reclaimer (CAS) |
| 1    | pid; 0 = free. CAS 0 -> pid IS the claim | claimer; cleared by CAS from the pid read       |
|      | -1 = retired: its generations are spent  | the claimer that found generation 0x1ffff, once |
| 2-3  | start time (clock ticks), low word first | claimer, before LIVE                           |
| 4    | thread id (Node: worker threadId; Python: the native thread id) | claimer, before LIVE |

Each Python thread claims its own slot on first use (a token names a thread: mutexes are owned by
threads). Liveness of a token: its slot still holds the token's generation with LIVE, and the
recorded process runs with the recorded start time (proc.py).
"""

from __future__ import annotations

import os
import threading

from . import atomics
from .errors import ShmkitError
from .proc import is_alive, self_start_time

SLOT_WORDS = 8
LIVE = 1
RETIRED = -1
SLOT_BITS = 12
SLOT_MASK = (1 << SLOT_BITS) - 1
GEN_MASK = 0x1FFFF
TOKEN_MASK = 0x1FFFFFFF
#: A blocked lock or channel wait re-checks its peers' liveness this often (seconds), as on Node.
LIVENESS_SLICE = 0.1


class Identity:
    """The thread table at ``offset`` of ``mem``, with ``capacity`` slots (validated by the header)."""

    def __init__(self, mem, offset: int, capacity: int):
        if offset < 0 or offset + capacity * SLOT_WORDS * 4 > mem.size:
            raise ShmkitError("CORRUPT", "the thread table lies outside the segment")
        self.mem = mem
        self.base = mem.base + offset
        self.words = offset // 4
        self.capacity = min(capacity, SLOT_MASK)
        self._local = threading.local()

    def _addr(self, slot: int, word: int) -> int:
        return self.base + (slot * SLOT_WORDS + word) * 4

    def self_token(self) -> int:
        """The calling thread's token; claims (or finds) its slot on first use. TOO_LARGE when full."""
        t = getattr(self._local, "token", 0)
        if t and self._local.pid == os.getpid():
            return t
        return self._claim()

    def is_alive(self, token: int) -> bool:
        if token == getattr(self._local, "token", 0) and token != 0:
            return True
        slot = (token & SLOT_MASK) - 1
        if slot < 0 or slot >= self.capacity:
            return False
        owner = self._read(slot, ((token >> SLOT_BITS) & GEN_MASK) * 2 + LIVE)
        if owner is None:
            return False  # released or reclaimed: that thread is gone
        pid, start, _ = owner
        if pid == os.getpid():
            return start == self_start_time()
        return is_alive(pid, start)

    def release(self) -> bool:
        """Gives the calling thread's slot back; its token then counts as dead."""
        token = getattr(self._local, "token", 0) or self._find_own()
        if token == 0:
            return False
        self._local.token = 0
        slot = (token & SLOT_MASK) - 1
        live = ((token >> SLOT_BITS) & GEN_MASK) * 2 + LIVE
        if atomics.cas32(self._addr(slot, 0), live, live & ~LIVE) != live:
            return False
        atomics.cas32(self._addr(slot, 1), os.getpid(), 0)
        return True

    def reclaim(self) -> int:
        """Frees the slots of dead processes (and of claims their claimer never finished)."""
        freed = 0
        me = os.getpid()
        for slot in range(self.capacity):
            state = atomics.load32(self._addr(slot, 0))
            pid = atomics.load32(self._addr(slot, 1))
            if pid <= 0:
                continue  # free, or retired (never reclaimed)
            if state & LIVE:
                owner = self._read(slot, state)
                if owner is None or owner[0] == me or is_alive(owner[0], owner[1]):
                    continue
                if atomics.cas32(self._addr(slot, 0), state, state & ~LIVE) != state:
                    continue
            elif pid == me or is_alive(pid):
                continue  # being claimed
            if atomics.cas32(self._addr(slot, 1), pid, 0) == pid:
                freed += 1
        return freed

    def _claim(self) -> int:
        pid = os.getpid()
        start = self_start_time()
        own = self._find_own()
        if own:
            self._remember(own)
            return own
        tid = threading.get_native_id()
        for attempt in range(2):
            for slot in range(self.capacity):
                if atomics.load32(self._addr(slot, 1)) != 0:
                    continue
                # The claim: winning it makes this thread the only writer of words 2-4 and LIVE.
                if atomics.cas32(self._addr(slot, 1), 0, pid) != 0:
                    continue
                current = (atomics.load32(self._addr(slot, 0)) >> 1) & GEN_MASK
                if current == GEN_MASK:
                    # Generations never wrap: a slot that issued its last one is retired for
                    # good (pid -1), so no token is ever issued twice in the segment's life.
                    atomics.store32(self._addr(slot, 1), RETIRED)
                    continue
                generation = current + 1
                atomics.store32(self._addr(slot, 2), start & 0xFFFFFFFF)
                atomics.store32(self._addr(slot, 3), start >> 32)
                atomics.store32(self._addr(slot, 4), tid)
                # release: publishes words 1-4 to readers that load this state first.
                state = generation * 2 + LIVE
                atomics.store32(self._addr(slot, 0), state)
                token = _token_of(slot, state)
                self._remember(token)
                return token
            if attempt == 0 and self.reclaim() == 0:
                break
        raise ShmkitError(
            "TOO_LARGE",
            f"the thread table is full: {self.capacity} live threads already use this segment "
            "(or its slots are exhausted: create a new segment)",
        )

    def _remember(self, token: int) -> None:
        self._local.token = token
        self._local.pid = os.getpid()

    def _find_own(self) -> int:
        pid = os.getpid()
        start = self_start_time()
        tid = threading.get_native_id()
        for slot in range(self.capacity):
            state = atomics.load32(self._addr(slot, 0))
            owner = self._read(slot, state)
            if owner is not None and owner == (pid, start, tid):
                return _token_of(slot, state)
        return 0

    def _read(self, slot: int, state: int):
        """(pid, start time, thread id) of ``slot`` if its state is ``state`` (LIVE) before and after."""
        if not state & LIVE:
            return None
        if atomics.load32(self._addr(slot, 0)) != state:
            return None
        pid = atomics.load32(self._addr(slot, 1))
        start = (atomics.load32(self._addr(slot, 2)) & 0xFFFFFFFF) + (
            atomics.load32(self._addr(slot, 3)) & 0xFFFFFFFF
        ) * 2**32
        tid = atomics.load32(self._addr(slot, 4))
        if atomics.load32(self._addr(slot, 0)) != state:
            return None
        return pid, start, tid


def _token_of(slot: int, state: int) -> int:
    return (((state >> 1) & GEN_MASK) << SLOT_BITS) | (slot + 1)
