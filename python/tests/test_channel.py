import multiprocessing as mp
import os
import signal
import struct
import threading
import time
import unittest

from shmkit import Segment

from .helpers import SegmentCase


def message(pid: int, seq: int) -> bytes:
    n = 12 + (((seq * 2654435761 + pid * 40503) & 0xFFFFFFFF) % 181)
    return struct.pack("<III", pid, seq, n) + bytes(((pid * 31 + seq * 7 + i) & 0xFF) for i in range(12, n))


def _produce(name, pid, n, producers, consumers, cap):
    seg = Segment.open(name, timeout=10)
    ch = seg.channel("q", capacity=cap, producers=producers, consumers=consumers)
    for seq in range(n):
        ch.send(message(pid, seq), timeout=20)
    seg.close()


def _consume(name, producers, cap, out):
    seg = Segment.open(name, timeout=10)
    ch = seg.channel("q", capacity=cap, producers=producers, consumers="many")
    got = []
    try:
        got.extend(ch)  # until closed and drained
    finally:
        out.send(got)


def _send_and_die(name, n, conn):
    seg = Segment.open(name, timeout=10)
    ch = seg.channel("q", capacity=1024, producers="many")
    for seq in range(n):
        ch.send(message(9, seq), timeout=20)
    conn.send("sent")
    os.kill(os.getpid(), signal.SIGKILL)


class ChannelTest(SegmentCase):
    def test_round_trips_bytes_and_strings_across_the_wrap(self):
        seg = self.segment("rt")
        b = seg.channel("b", capacity=256)
        u = seg.channel("u", capacity=256, codec="utf8")
        for i in range(500):
            payload = bytes([i & 0xFF]) * (i % 97)
            b.send(payload)
            self.assertEqual(b.recv(timeout=1), payload)
            text = "é✓" * (i % 13) + str(i)
            self.assertTrue(u.try_send(text))
            self.assertEqual(u.try_recv(), text)
        self.assertIsNone(b.try_recv())

    def test_a_full_ring_refuses_try_send_and_times_out_send(self):
        seg = self.segment("full")
        ch = seg.channel("q", capacity=256)
        n = 0
        while ch.try_send(b"x" * 40):
            n += 1
        self.assertGreater(n, 0)
        self.assertCode("TIMEOUT", ch.send, b"x" * 40, timeout=0.02)
        self.assertCode("TOO_LARGE", ch.send, b"x" * 200)
        self.assertCode("INVALID_ARGUMENT", ch.send, "not bytes")
        self.assertCode("INVALID_ARGUMENT", ch.recv, timeout="1")

    def test_close_lets_receivers_drain_then_reports_closed(self):
        seg = self.segment("close")
        ch = seg.channel("q", capacity=1024, codec="utf8")
        ch.send("a")
        ch.send("b")
        ch.close()
        self.assertTrue(ch.closed)
        self.assertCode("CLOSED", ch.send, "c")
        self.assertEqual(list(ch), ["a", "b"])
        self.assertCode("CLOSED", ch.recv, timeout=1)
        self.assertCode("CLOSED", ch.try_recv)

    def test_close_wakes_a_blocked_receiver(self):
        seg = self.segment("wake")
        ch = seg.channel("q", capacity=1024)
        threading.Timer(0.2, ch.close).start()
        self.assertCode("CLOSED", ch.recv, timeout=20)

    def test_many_producers_and_many_consumers_in_processes_deliver_exactly_once_in_order(self):
        seg = self.segment("mpmc")
        cap, each = 1024, 1500
        seg.channel("q", capacity=cap, producers="many", consumers="many")
        ctx = mp.get_context("fork")
        pipes = [ctx.Pipe(duplex=False) for _ in range(2)]
        consumers = [ctx.Process(target=_consume, args=(seg.name, "many", cap, w)) for r, w in pipes]
        producers = [ctx.Process(target=_produce, args=(seg.name, i, each, "many", "many", cap)) for i in (1, 2)]
        for p in consumers + producers:
            p.start()
        for p in producers:
            p.join(60)
            self.assertEqual(p.exitcode, 0)
        seg.channel("q", capacity=cap, producers="many", consumers="many").close()
        results = []
        for r, _ in pipes:
            self.assertTrue(r.poll(60))
            results.append(r.recv())
        for p in consumers + producers:
            p.join(30)
            self.assertEqual(p.exitcode, 0)
        seen = {}
        for got in results:
            last = {}
            for m in got:
                pid, seq, _ = struct.unpack_from("<III", m)
                self.assertEqual(m, message(pid, seq))
                self.assertGreater(seq, last.get(pid, -1))  # each consumer sees each producer in order
                last[pid] = seq
                self.assertNotIn((pid, seq), seen)
                seen[(pid, seq)] = True
        self.assertEqual(len(seen), 2 * each)

    def test_reports_peer_dead_once_a_killed_producer_is_drained(self):
        seg = self.segment("peer")
        ch = seg.channel("q", capacity=1024, producers="many")
        ctx = mp.get_context("fork")
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_send_and_die, args=(seg.name, 5, w))
        p.start()
        self.assertTrue(r.poll(20))
        self.assertEqual(r.recv(), "sent")
        for seq in range(5):
            self.assertEqual(ch.recv(timeout=10), message(9, seq))
        p.join(20)
        self.assertCode("PEER_DEAD", ch.recv, timeout=20)

    def test_a_producer_that_closes_its_segment_is_not_a_dead_peer(self):
        seg = self.segment("clean")
        ch = seg.channel("q", capacity=8192, producers="many")
        ctx = mp.get_context("fork")
        p = ctx.Process(target=_produce, args=(seg.name, 3, 10, "many", "one", 8192))
        p.start()
        p.join(20)
        self.assertEqual(p.exitcode, 0)
        for seq in range(10):
            self.assertEqual(ch.recv(timeout=10), message(3, seq))
        self.assertCode("TIMEOUT", ch.recv, timeout=0.3)


class SegmentTest(SegmentCase):
    def test_open_create_and_unlink(self):
        name = self.name("life")
        self.assertCode("NOT_FOUND", Segment.open, name)
        self.assertCode("INVALID_ARGUMENT", Segment.open, "a/b")
        self.assertCode("INVALID_ARGUMENT", Segment.create, name, size=10)
        threading.Timer(0.2, lambda: Segment.create(name, size=1 << 16)).start()
        t = time.monotonic()
        seg = Segment.open(name, timeout=20)
        self.assertGreater(time.monotonic() - t, 0.1)
        self.assertEqual(seg.size, 1 << 16)
        self.assertCode("EXISTS", Segment.create, name, size=1 << 16)
        self.assertEqual(oct(os.stat(seg.path).st_mode & 0o777), oct(0o600))
        seg.channel("q", capacity=256)
        self.assertCode("INCOMPATIBLE", seg.channel, "q", capacity=512)
        self.assertCode("INCOMPATIBLE", seg.channel, "q", capacity=256, codec="utf8")
        self.assertCode("INCOMPATIBLE", seg.mutex, "q")
        self.assertCode("TOO_LARGE", seg.channel, "big", capacity=1 << 20)
        self.assertTrue(seg.unlink())
        self.assertFalse(Segment.unlink(name))
        seg.close()
        self.assertCode("CLOSED", seg.mutex, "m")


if __name__ == "__main__":
    unittest.main()
