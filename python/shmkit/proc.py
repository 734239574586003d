"""Process liveness from /proc/PID/stat, exactly as the Node side judges it: a process counts as
dead when it no longer exists, is a zombie (state Z or X: a SIGKILLed child stays one until its
parent reaps it), or its pid now names a process with another start time (pids are reused)."""

from __future__ import annotations

import os

from .errors import ShmkitError

PID_MAX = 4194304


def read_stat(pid: int):
    """(state, start time in clock ticks since boot) of ``pid``, or None when it does not exist."""
    if not isinstance(pid, int) or pid <= 0 or pid > PID_MAX:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("latin-1")
    except OSError:
        return None  # gone (or hidden by hidepid, which we cannot tell apart)
    # "pid (comm) state ppid ...": comm may hold spaces and ')' so split after the last ')'.
    close = text.rfind(")")
    if close < 0:
        return None
    fields = text[close + 2 :].split(" ")
    if len(fields) < 20:
        return None
    try:
        start = int(fields[19])  # field 22; fields[0] is field 3
    except ValueError:
        return None
    return fields[0], start


def is_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether ``pid`` runs, is no zombie, and (when given) started at ``start_time``."""
    s = read_stat(pid)
    if s is None or s[0] in ("Z", "X"):
        return False
    return start_time is None or s[1] == start_time


_own = None


def self_start_time() -> int:
    """This process's start time (read once per process; re-read after fork)."""
    global _own
    pid = os.getpid()
    if _own is None or _own[0] != pid:
        s = read_stat(pid)
        if s is None:
            raise ShmkitError("UNSUPPORTED", f"cannot read /proc/{pid}/stat: process liveness needs /proc")
        _own = (pid, s[1])
    return _own[1]
