"""Timeouts: seconds (Python's convention; the Node side counts milliseconds), validated first."""

from __future__ import annotations

import math
import time

from .errors import ShmkitError, invalid_argument


def validate_timeout(timeout) -> float | None:
    """None (wait without limit) or a finite number >= 0 of seconds; INVALID_ARGUMENT otherwise."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout < 0:
        raise invalid_argument(f"timeout must be None or a number of seconds >= 0, got {timeout!r}")
    return None if math.isinf(timeout) else float(timeout)


class Deadline:
    __slots__ = ("timeout", "end")

    def __init__(self, timeout: float | None):
        self.timeout = timeout
        self.end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        """Seconds left (0 when past), None without a limit."""
        if self.end is None:
            return None
        return max(0.0, self.end - time.monotonic())

    def slice(self, most: float) -> float:
        left = self.remaining()
        return most if left is None else min(left, most)


def timeout_error(what: str, timeout: float | None) -> ShmkitError:
    return ShmkitError("TIMEOUT", f"{what} timed out after {timeout} s")
