"""Channel layout version 2 (the Node side's next layout): fragments reassembled on receive, the
claim lock of many producers, and a claim-lock holder killed mid-claim."""

import multiprocessing as mp
import os
import signal
import struct
import unittest

import shmkit.channel as channel_module
from shmkit import Segment

from .helpers import SegmentCase


def _die_holding_claim_lock(name, conn):
    seg = Segment.open(name, timeout=10)
    ch = seg.channel("q", capacity=4096, producers="many")
    ch.send(b"before")
    r = ch._r  # noqa: SLF001 -- the test plays a producer killed between claim end and reserve
    rs = r.uwords[r.i_reserve]
    r.at.cas(r.a_claim_lock, 0, ch._id.self_token())  # noqa: SLF001
    r.at.store(r.a_claim_end, rs + 64)
    conn.send("claimed")
    os.kill(os.getpid(), signal.SIGKILL)


class V2Case(SegmentCase):
    def setUp(self):
        super().setUp()
        self._saved = channel_module.LAYOUT_VERSION
        channel_module.LAYOUT_VERSION = 2

    def tearDown(self):
        channel_module.LAYOUT_VERSION = self._saved
        super().tearDown()


class LayoutV2Test(V2Case):
    def test_creates_version_2_channels_and_round_trips_in_every_flavor(self):
        seg = self.segment("v2")
        for p in ("one", "many"):
            for c in ("one", "many"):
                ch = seg.channel(f"{p}-{c}", capacity=256, producers=p, consumers=c)
                self.assertEqual(ch._r.words[1], 2)  # noqa: SLF001
                for i in range(300):
                    m = bytes([i & 0xFF]) * (i % 100)
                    ch.send(m, timeout=1)
                    self.assertEqual(ch.recv(timeout=1), m)

    def test_reassembles_fragments_written_by_another_producer(self):
        seg = self.segment("frag")
        ch = seg.channel("q", capacity=1024)
        r = ch._r  # noqa: SLF001
        body = bytes(range(256)) + bytes(44)
        pos = 0
        for kind, part in ((4, body[:100]), (5, body[100:200]), (6, body[200:])):
            struct.pack_into("<iiii", r.mm, r.ring_at + pos, len(part) + 1, 128 | kind, 77, len(body) if kind == 4 else 0)
            r.mm[r.ring_at + pos + 16 : r.ring_at + pos + 16 + len(part)] = part
            pos += 128
        r.at.store(r.a_tail, pos)
        self.assertEqual(ch.recv(timeout=1), body)
        self.assertIsNone(ch.try_recv())

    def test_a_fragment_without_its_first_part_is_corrupt(self):
        seg = self.segment("fragbad")
        ch = seg.channel("q", capacity=1024)
        r = ch._r  # noqa: SLF001
        struct.pack_into("<iiii", r.mm, r.ring_at, 11, 32 | 6, 77, 0)
        r.at.store(r.a_tail, 32)
        self.assertCode("CORRUPT", ch.recv, timeout=1)

    def test_a_dead_claim_lock_holder_is_recovered_and_reported_as_peer_dead(self):
        seg = self.segment("claim")
        ch = seg.channel("q", capacity=4096, producers="many")
        ctx = mp.get_context("fork")
        rd, wr = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_die_holding_claim_lock, args=(seg.name, wr))
        p.start()
        self.assertTrue(rd.poll(20))
        self.assertEqual(rd.recv(), "claimed")
        p.join(20)
        self.assertEqual(ch.recv(timeout=10), b"before")
        self.assertCode("PEER_DEAD", ch.recv, timeout=20)
        # The lock is free again and the ring usable: the dead claim became a SKIP.
        ch.send(b"after", timeout=5)
        self.assertEqual(ch.recv(timeout=5), b"after")


if __name__ == "__main__":
    unittest.main()
