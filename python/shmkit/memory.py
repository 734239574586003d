"""A mapped segment as Python sees it: the mmap, its base address for the atomics helper, and
views of its bytes and 32-bit words.

Every offset handed to an atomic operation is checked here against the mapping (``check``):
the atomics helper takes raw addresses, so an unchecked offset derived from shared memory would
be an out-of-bounds access. Objects that validated their own bounds once (a channel's header and
ring) keep their base address and use the helper directly on offsets that stay inside them.
"""

from __future__ import annotations

import ctypes
import mmap

from . import atomics, futex
from .errors import corrupt


class Memory:
    __slots__ = ("mm", "size", "base", "u8", "i32", "_anchor", "what", "at")

    def __init__(self, mm: mmap.mmap, size: int, what: str):
        self.mm = mm
        self.size = size
        self.what = what
        # A ctypes object over the mapping gives its address; it also pins the buffer, so the
        # mapping cannot be closed under a pending atomic operation.
        self._anchor = ctypes.c_char.from_buffer(mm)
        self.base = ctypes.addressof(self._anchor)
        self.u8 = memoryview(mm)
        self.i32 = self.u8[: size - size % 4].cast("i")
        #: Atomics by offset with the base compiled in (atomics.Bound): the fast path.
        self.at = atomics.Bound(self.base, size)

    def check(self, offset: int, width: int = 4) -> int:
        """The address of the aligned ``width``-byte word at ``offset``; CORRUPT when outside."""
        if offset < 0 or offset + width > self.size or offset % width:
            raise corrupt(self.what, f"a {width}-byte word at offset {offset} (mapping of {self.size} bytes)")
        return self.base + offset

    def load(self, offset: int) -> int:
        self.check(offset)
        return self.at.load(offset)

    def store(self, offset: int, value: int) -> None:
        self.check(offset)
        self.at.store(offset, value)

    def cas(self, offset: int, expected: int, desired: int) -> int:
        self.check(offset)
        return self.at.cas(offset, expected, desired)

    def add(self, offset: int, value: int) -> int:
        self.check(offset)
        return self.at.add(offset, value)

    def wait(self, offset: int, expected: int, timeout: float | None) -> str:
        return futex.wait(self.check(offset), expected, timeout)

    def wake(self, offset: int, count: int = futex.INT_MAX) -> int:
        return futex.wake(self.check(offset), count)

    def close(self) -> None:
        """Drops the views; the mapping itself goes when the last object using it is collected."""
        self.i32.release()
        self.u8.release()
