"""Mutex: the Node side's futex mutex (Drepper's "Futexes are tricky", mutex3, with the owner's
token stamped into the lock word as Linux robust futexes do), on the same 8 bytes:

| offset | size | field | written by                                                            |
|--------|------|-------|-----------------------------------------------------------------------|
| 0      | 4    | tag   | tags.MUTEX, by the creator, last                                      |
| 4      | 4    | state | 0 free; else owner token (29 bits) / WAITERS 1<<30 / INCONSISTENT 1<<29; -1 NOT_RECOVERABLE |

Only the owner clears its token (unlock) or INCONSISTENT (consistent()); other threads only set
WAITERS, by CAS, before they sleep, so an unlock that finds WAITERS clear skips the wake-up. A
waiter that finds the owner dead after a quiet liveness slice takes the lock over, marked
INCONSISTENT, and gets OWNER_DEAD (POSIX): repair, consistent(), unlock(). Unlocking without
consistent() makes the mutex NOT_RECOVERABLE for everyone.
"""

from __future__ import annotations

from . import atomics, futex, tags
from .deadline import Deadline, timeout_error, validate_timeout
from .errors import ShmkitError
from .identity import LIVENESS_SLICE, TOKEN_MASK

TAG = tags.MUTEX
SIZE = 8
WAITERS = 0x40000000
INCONSISTENT = 0x20000000
NOT_RECOVERABLE = -1
SPINS = 100


def init(mem, offset: int) -> None:
    """Initializes a mutex in zeroed memory; the tag is stored last (publishes it)."""
    mem.store(offset + 4, 0)
    mem.store(offset, TAG)


class Mutex:
    """A lock shared with every thread of every process (Node or Python) that opens the segment.

    Not reentrant: lock() by the thread holding it raises DEADLOCK.

    >>> with seg.mutex("m"):
    ...     counter += 1
    """

    def __init__(self, mem, offset: int, identity, key: str = "mutex"):
        self._mem = mem
        self._state = mem.check(offset + 4)
        self._id = identity
        self.key = key

    def lock(self, timeout: float | None = None) -> None:
        """Blocks until the calling thread holds the mutex. TIMEOUT after ``timeout`` seconds;
        DEADLOCK if this thread holds it; OWNER_DEAD if its owner died holding it (the caller
        then holds it: repair the data, call consistent(), then unlock())."""
        timeout = validate_timeout(timeout)
        me = self._id.self_token()
        s = self._state
        # acquire: pairs with the exchange in unlock(); the last owner's writes are visible.
        c = atomics.cas32(s, 0, me)
        if c == 0:
            return
        if c != NOT_RECOVERABLE and (c & TOKEN_MASK) == me:
            raise ShmkitError("DEADLOCK", "lock() by the thread that already holds this mutex")
        for _ in range(SPINS):
            if atomics.load32(s) == 0 and atomics.cas32(s, 0, me) == 0:
                return
        self._lock_slow(me, Deadline(timeout))

    def try_lock(self) -> bool:
        """Takes the mutex if it is free; never blocks."""
        c = atomics.cas32(self._state, 0, self._id.self_token())
        if c == NOT_RECOVERABLE:
            raise _not_recoverable()
        return c == 0

    def unlock(self) -> None:
        """Releases the mutex. NOT_OWNER unless the calling thread holds it."""
        me = self._id.self_token()
        s = self._state
        c = atomics.load32(s)
        if c == NOT_RECOVERABLE or c == 0 or (c & TOKEN_MASK) != me:
            raise ShmkitError("NOT_OWNER", "unlock() of a mutex this thread does not hold")
        if c & INCONSISTENT:
            # POSIX: unlocking an OWNER_DEAD mutex without consistent() makes it unusable.
            atomics.store32(s, NOT_RECOVERABLE)
            futex.wake(s)
            return
        # release: publishes the critical section to the next owner's CAS; the exchange also
        # catches a WAITERS bit set by a thread that went to sleep after our load.
        prev = atomics.exchange32(s, 0)
        if prev & WAITERS:
            futex.wake(s, 1)

    def consistent(self) -> None:
        """Marks the data guarded by a mutex whose owner died (OWNER_DEAD) as repaired."""
        me = self._id.self_token()
        s = self._state
        while True:
            c = atomics.load32(s)
            if c == NOT_RECOVERABLE:
                raise _not_recoverable()
            if c == 0 or (c & TOKEN_MASK) != me:
                raise ShmkitError("NOT_OWNER", "consistent() by a thread that does not hold the mutex")
            if not c & INCONSISTENT:
                raise ShmkitError("INVALID_ARGUMENT", "consistent(): the mutex is not in the OWNER_DEAD state")
            if atomics.cas32(s, c, c & ~INCONSISTENT) == c:
                return

    @property
    def locked(self) -> bool:
        """Whether some thread holds it. A snapshot: it can be late."""
        return atomics.load32(self._state) != 0

    def acquire(self, timeout: float | None = None, repair=None) -> "_Guard":
        """A context manager that locks (``with m.acquire(timeout=1, repair=fn):``). When the
        previous owner died holding the lock, ``repair(mutex)`` runs first and the mutex is then
        marked consistent; without ``repair``, OWNER_DEAD propagates as from ``with m:``.

        ``with m:`` raises OWNER_DEAD from its entry while the caller holds the lock (the body
        does not run), as POSIX's pthread_mutex_lock returns EOWNERDEAD: repair, ``consistent()``,
        then ``unlock()``."""
        return _Guard(self, timeout, repair)

    def __enter__(self) -> "Mutex":
        self.lock()
        return self

    def __exit__(self, *exc) -> None:
        self.unlock()

    def _lock_slow(self, me: int, deadline: Deadline) -> None:
        s = self._state
        while True:
            c = atomics.load32(s)
            if c == NOT_RECOVERABLE:
                raise _not_recoverable()
            if c == 0:
                if atomics.cas32(s, 0, me | WAITERS) == 0:
                    return
                continue
            if not c & WAITERS:
                # Announce a sleeper before sleeping, so the owner's unlock knows to wake someone.
                if atomics.cas32(s, c, c | WAITERS) != c:
                    continue
                c |= WAITERS
            left = deadline.remaining()
            if left == 0:
                raise timeout_error("Mutex lock", deadline.timeout)
            r = futex.wait(s, c, deadline.slice(LIVENESS_SLICE))
            if r == futex.TIMED_OUT and not self._id.is_alive(c & TOKEN_MASK):
                # The owner died holding the lock: take it over, marked inconsistent. The CAS
                # fails if another survivor got there first; then we go round again.
                if atomics.cas32(s, c, me | WAITERS | INCONSISTENT) == c:
                    raise ShmkitError(
                        "OWNER_DEAD",
                        "the previous owner died holding this mutex: you now hold it; repair the data, "
                        "call consistent(), then unlock()",
                    )


class _Guard:
    __slots__ = ("_m", "_timeout", "_repair")

    def __init__(self, m: Mutex, timeout, repair):
        self._m = m
        self._timeout = timeout
        self._repair = repair

    def __enter__(self) -> Mutex:
        try:
            self._m.lock(self._timeout)
        except ShmkitError as e:
            if e.code != "OWNER_DEAD":
                raise
            if self._repair is None:
                raise
            self._repair(self._m)
            self._m.consistent()
        return self._m

    def __exit__(self, *exc) -> None:
        self._m.unlock()


def _not_recoverable() -> ShmkitError:
    return ShmkitError(
        "NOT_RECOVERABLE", "this mutex was unlocked after OWNER_DEAD without consistent() and can no longer be used"
    )
