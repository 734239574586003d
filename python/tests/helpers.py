"""Helpers of the Python unit tests: unique segment names, always unlinked."""

import os
import unittest

from shmkit import Segment

_n = 0


class SegmentCase(unittest.TestCase):
    def setUp(self):
        self._names = []

    def tearDown(self):
        for name in self._names:
            Segment.unlink(name)

    def name(self, tag: str) -> str:
        global _n
        _n += 1
        n = f"pyunit{os.getpid()}-{_n}-{tag}"
        self._names.append(n)
        return n

    def segment(self, tag: str, size: int = 1 << 20) -> Segment:
        return Segment.create(self.name(tag), size=size)

    def assertCode(self, code: str, fn, *args, **kw):
        from shmkit import ShmkitError

        with self.assertRaises(ShmkitError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code, code, str(cm.exception))
        return cm.exception


def word_address(seg, key: str) -> int:
    """The address of the first word of byte region ``key`` (test-only access to the mapping)."""
    off = next(o for (k, _, o, _) in seg.objects() if k == key)
    return seg._mem.base + off  # noqa: SLF001
