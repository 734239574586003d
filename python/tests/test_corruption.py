"""Seeded random damage to a segment: every read path ends in a value or a ShmkitError (CORRUPT,
mostly), never another exception, a crash or a hang. The seed is printed on failure."""

import os
import random
import struct
import unittest

from shmkit import Segment, ShmkitError

from .helpers import SegmentCase

TRIALS = int(os.environ.get("SHMKIT_PY_FUZZ_TRIALS", "400"))


class CorruptionTest(SegmentCase):
    def test_random_damage_is_a_shmkit_error_never_a_crash(self):
        seed = int(os.environ.get("SHMKIT_PY_FUZZ_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        seg = self.segment("fuzz", size=1 << 16)
        for key, producers in (("one", "one"), ("many", "many")):
            ch = seg.channel(key, capacity=4096, producers=producers)
            for i in range(12):
                ch.send(bytes([i]) * rng.randrange(0, 120), timeout=5)
            for _ in range(4):
                ch.recv(timeout=1)
        objects = {k: (o, n) for (k, _, o, n) in seg.objects()}
        pristine = bytes(seg._mem.u8)  # noqa: SLF001
        # Words that matter: the header (not the magic: a zero magic means "still being created"
        # and makes open wait), the directory, both channels' headers and rings.
        spans = [(4, 320), (4608, 4608 + 3 * 96)] + [(o, o + n) for (o, n) in objects.values()]
        codes = {}
        try:
            for trial in range(TRIALS):
                seg._mem.u8[:] = pristine  # noqa: SLF001
                for _ in range(rng.randrange(1, 4)):
                    lo, hi = rng.choice(spans)
                    at = (rng.randrange(lo, hi) // 4) * 4
                    value = rng.choice([0, -1, 1, 0x7FFFFFFF, -0x80000000, rng.randrange(-(1 << 31), 1 << 31), 17, 4096])
                    struct.pack_into("<i", seg._mem.u8, at, value)  # noqa: SLF001
                code = self._read_everything(seg.name, rng)
                codes[code] = codes.get(code, 0) + 1
        except Exception as e:
            raise AssertionError(f"seed {seed}, trial {trial}: {e!r}") from e
        self.assertIn("CORRUPT", codes, f"seed {seed}: {codes}")

    def _read_everything(self, name, rng):
        try:
            s = Segment.open(name)
            try:
                for key, producers in (("one", "one"), ("many", "many")):
                    ch = s.channel(key, capacity=4096, producers=producers)
                    for _ in range(40):
                        if ch.try_recv() is None:
                            break
                    ch.try_send(b"x" * rng.randrange(0, 100))
                s.mutex("m").try_lock()
                return "ok"
            finally:
                s.close()
        except ShmkitError as e:
            return e.code


if __name__ == "__main__":
    unittest.main()
