import multiprocessing as mp
import unittest

from shmkit import Segment, atomics

from .helpers import SegmentCase, word_address


def _adder(name, n):
    seg = Segment.open(name, timeout=10)
    seg.bytes("w", 64)
    a = word_address(seg, "w")
    for _ in range(n):
        atomics.add32(a, 1)
        atomics.add64(a + 8, 3)
    for _ in range(n):
        # A CAS loop: lost updates would show in the total.
        while True:
            v = atomics.load32(a + 16)
            if atomics.cas32(a + 16, v, v + 1) == v:
                break


class AtomicsTest(SegmentCase):
    def test_single_thread_semantics_match_int32_wrapping(self):
        seg = self.segment("sem")
        seg.bytes("w", 64)
        a = word_address(seg, "w")
        atomics.store32(a, 0x7FFFFFFF)
        self.assertEqual(atomics.add32(a, 1), 0x7FFFFFFF)
        self.assertEqual(atomics.load32(a), -0x80000000)
        self.assertEqual(atomics.cas32(a, 5, 6), -0x80000000)  # no swap: returns what it found
        self.assertEqual(atomics.cas32(a, -0x80000000, 6), -0x80000000)
        self.assertEqual(atomics.exchange32(a, 0xFFFFFFFF), 6)
        self.assertEqual(atomics.load32(a), -1)
        atomics.store64(a + 8, 2**32 - 1)
        self.assertEqual(atomics.add64(a + 8, 1), 2**32 - 1)
        self.assertEqual(atomics.load64(a + 8), 2**32)
        self.assertEqual(atomics.cas64(a + 8, 2**32, -7), 2**32)
        self.assertEqual(atomics.load64(a + 8), -7)

    def test_adds_and_cas_from_four_processes_lose_nothing(self):
        seg = self.segment("mp")
        seg.bytes("w", 64)
        n = 20000
        ctx = mp.get_context("fork")
        procs = [ctx.Process(target=_adder, args=(seg.name, n)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            self.assertEqual(p.exitcode, 0)
        a = word_address(seg, "w")
        self.assertEqual(atomics.load32(a), 4 * n)
        self.assertEqual(atomics.load64(a + 8), 12 * n)
        self.assertEqual(atomics.load32(a + 16), 4 * n)


if __name__ == "__main__":
    unittest.main()
