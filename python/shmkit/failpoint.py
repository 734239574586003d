"""Failpoints, as on the Node side: when the environment variable SHMKIT_FAILPOINT names a point
(channel.after-claim, channel.before-commit, mutex.after-lock), the process SIGKILLs itself the
first time it gets there. Read once at import; call sites test ``FAILPOINT is not None`` first,
so an unarmed process pays one comparison."""

import os
import signal

FAILPOINT = os.environ.get("SHMKIT_FAILPOINT") or None


def failpoint(name: str) -> None:
    if FAILPOINT == name:
        os.kill(os.getpid(), signal.SIGKILL)
