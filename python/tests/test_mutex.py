import multiprocessing as mp
import os
import signal
import struct
import threading
import unittest

from shmkit import Segment

from .helpers import SegmentCase


def _count(name, n):
    seg = Segment.open(name, timeout=10)
    m = seg.mutex("m")
    c = seg.bytes("c", 8)
    for _ in range(n):
        with m:
            v = struct.unpack_from("<i", c)[0]
            struct.pack_into("<i", c, 0, v + 1)
    seg.close()


def _lock_and_die(name, conn):
    seg = Segment.open(name, timeout=10)
    seg.mutex("m").lock()
    conn.send("locked")  # a pipe, not a Queue: its send is done before the kill below
    os.kill(os.getpid(), signal.SIGKILL)


def _lock_and_hold(name, q, release):
    seg = Segment.open(name, timeout=10)
    m = seg.mutex("m")
    m.lock()
    q.put("locked")
    release.wait(20)
    m.unlock()


class MutexTest(SegmentCase):
    def test_counts_exactly_under_contention_of_four_processes(self):
        seg = self.segment("count")
        seg.mutex("m")
        c = seg.bytes("c", 8)
        ctx = mp.get_context("fork")
        procs = [ctx.Process(target=_count, args=(seg.name, 3000)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            self.assertEqual(p.exitcode, 0)
        self.assertEqual(struct.unpack_from("<i", c)[0], 12000)

    def test_counts_exactly_with_threads_of_one_process(self):
        seg = self.segment("threads")
        m = seg.mutex("m")
        box = [0]

        def work():
            for _ in range(2000):
                with m:
                    v = box[0]
                    box[0] = v + 1

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(box[0], 8000)

    def test_refuses_relocking_and_foreign_unlock(self):
        seg = self.segment("rules")
        m = seg.mutex("m")
        self.assertCode("NOT_OWNER", m.unlock)
        m.lock()
        self.assertCode("DEADLOCK", m.lock)
        self.assertCode("INVALID_ARGUMENT", m.consistent)
        m.unlock()
        self.assertCode("INVALID_ARGUMENT", m.lock, timeout=-1)
        self.assertCode("INVALID_ARGUMENT", m.lock, timeout=float("nan"))
        self.assertCode("INCOMPATIBLE", seg.channel, "m")

    def test_times_out_while_another_process_holds_it(self):
        seg = self.segment("timeout")
        m = seg.mutex("m")
        ctx = mp.get_context("fork")
        q, release = ctx.Queue(), ctx.Event()
        p = ctx.Process(target=_lock_and_hold, args=(seg.name, q, release))
        p.start()
        self.assertEqual(q.get(timeout=20), "locked")
        self.assertFalse(m.try_lock())
        self.assertCode("TIMEOUT", m.lock, timeout=0.05)
        release.set()
        m.lock(timeout=20)
        m.unlock()
        p.join(20)

    def test_owner_dead_then_consistent_recovers_and_without_it_is_not_recoverable(self):
        seg = self.segment("dead")
        m = seg.mutex("m")
        ctx = mp.get_context("fork")
        for repair in (True, False):
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_lock_and_die, args=(seg.name, w))
            p.start()
            self.assertTrue(r.poll(20))
            self.assertEqual(r.recv(), "locked")
            p.join(20)
            self.assertEqual(p.exitcode, -signal.SIGKILL)
            self.assertCode("OWNER_DEAD", m.lock, timeout=20)
            if repair:
                m.consistent()
                m.unlock()
                with m:
                    pass
            else:
                m.unlock()
                self.assertCode("NOT_RECOVERABLE", m.lock, timeout=1)

    def test_acquire_runs_the_repair_function_after_owner_dead(self):
        seg = self.segment("repair")
        m = seg.mutex("m")
        ctx = mp.get_context("fork")
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_lock_and_die, args=(seg.name, w))
        p.start()
        self.assertTrue(r.poll(20))
        self.assertEqual(r.recv(), "locked")
        p.join(20)
        repaired = []
        with m.acquire(timeout=20, repair=repaired.append):
            self.assertTrue(m.locked)
        self.assertEqual(repaired, [m])
        with m:  # consistent again
            pass


if __name__ == "__main__":
    unittest.main()
