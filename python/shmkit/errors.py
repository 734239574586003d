"""The one error type shmkit raises, with the same codes as the Node side's ShmkitError."""

from __future__ import annotations

CODES = frozenset(
    {
        "TIMEOUT",
        "ABORTED",
        "CLOSED",
        "TOO_LARGE",
        "CORRUPT",
        "INCOMPATIBLE",
        "OWNER_DEAD",
        "NOT_RECOVERABLE",
        "PEER_DEAD",
        "NOT_FOUND",
        "EXISTS",
        "INVALID_ARGUMENT",
        "NOT_OWNER",
        "DEADLOCK",
        "UNSUPPORTED",
        "PERMISSION",
    }
)


class ShmkitError(Exception):
    """Every error shmkit raises. ``code`` is one of :data:`CODES` (stable); the message is for people.

    >>> try:
    ...     m.lock(timeout=0.05)
    ... except ShmkitError as e:
    ...     if e.code != "TIMEOUT":
    ...         raise
    """

    def __init__(self, code: str, message: str):
        if code not in CODES:
            raise ValueError(f"unknown ShmkitError code {code!r}")
        super().__init__(message)
        self.code = code

    def __repr__(self) -> str:
        return f"ShmkitError({self.code!r}, {str(self)!r})"

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"


def invalid_argument(message: str) -> ShmkitError:
    return ShmkitError("INVALID_ARGUMENT", message)


def corrupt(what: str, detail: str) -> ShmkitError:
    return ShmkitError("CORRUPT", f"{what} is corrupt: {detail}")
