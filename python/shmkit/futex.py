"""The OS futex, as the Node side's addon uses it: FUTEX_WAIT / FUTEX_WAKE *without*
FUTEX_PRIVATE_FLAG, so that threads of different processes meet on a word of a shared mapping.

``wait`` compares the word and queues the caller atomically with respect to ``wake``: a waiter
either sees the new value ("not-equal") or is woken. Wake-ups may be spurious; callers loop.
The ctypes call releases the interpreter lock while the thread sleeps.
"""

from __future__ import annotations

import ctypes
import errno

from .errors import ShmkitError

SYS_FUTEX = 202  # x86_64
FUTEX_WAIT = 0
FUTEX_WAKE = 1

OK = "ok"
NOT_EQUAL = "not-equal"
TIMED_OUT = "timed-out"

INT_MAX = 0x7FFFFFFF

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = [
    ctypes.c_long,
    ctypes.c_void_p,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_int,
]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def wait(addr: int, expected: int, timeout: float | None) -> str:
    """Sleeps while the 32-bit word at ``addr`` holds ``expected``, at most ``timeout`` seconds
    (None: no limit). Returns "ok" (woken, maybe spuriously), "not-equal" or "timed-out"."""
    ts = None
    if timeout is not None:
        if timeout <= 0:
            return TIMED_OUT
        sec = int(timeout)
        ts = ctypes.byref(_Timespec(sec, int((timeout - sec) * 1e9)))
    r = _syscall(SYS_FUTEX, addr, FUTEX_WAIT, expected, ts, None, 0)
    if r == 0:
        return OK
    e = ctypes.get_errno()
    if e == errno.EAGAIN:
        return NOT_EQUAL
    if e == errno.ETIMEDOUT:
        return TIMED_OUT
    if e == errno.EINTR:
        return OK
    raise ShmkitError("UNSUPPORTED", f"futex wait failed: {errno.errorcode.get(e, e)}")


def wake(addr: int, count: int = INT_MAX) -> int:
    """Wakes up to ``count`` threads (of any process) sleeping on the word at ``addr``."""
    r = _syscall(SYS_FUTEX, addr, FUTEX_WAKE, min(count, INT_MAX), None, None, 0)
    if r < 0:
        e = ctypes.get_errno()
        raise ShmkitError("UNSUPPORTED", f"futex wake failed: {errno.errorcode.get(e, e)}")
    return r
