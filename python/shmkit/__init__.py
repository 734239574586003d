"""shmkit for Python: segments, channels and mutexes shared with Node processes (standard
library only; Linux, x86_64). See python/README.md and docs/python.md."""

from .channel import Channel
from .errors import CODES, ShmkitError
from .mutex import Mutex
from .segment import Segment

__all__ = ["Segment", "Channel", "Mutex", "ShmkitError", "CODES"]
__version__ = "0.1.0"
