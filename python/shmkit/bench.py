"""IPC between two Python processes: multiprocessing.Queue, multiprocessing.Pipe and a shmkit
channel, measured side by side.

    python3 -m shmkit.bench                  # 64 B, stream and round trip, 5 interleaved reps
    python3 -m shmkit.bench --sizes 64,4096 --reps 7 --seconds 0.5

Each backend moves the same messages from a child process to the parent (stream: messages/s) or
bounces them (round trip: p50/p99 µs). Every message is checked (count, order, CRC-32 of its
bytes), so no backend can win by dropping or damaging data. Pipe uses send_bytes/recv_bytes (no
pickling: the fastest way through a Pipe); Queue pickles, as its users do.

``--serve BACKEND`` is the protocol the Node benchmark harness (`shmkit bench`, backends
python-mp-queue, python-mp-pipe, python-shmkit) drives: one JSON request per line on stdin, one
JSON result per line on stdout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import struct
import sys
import time
import zlib

BACKENDS = ("python-mp-queue", "python-mp-pipe", "python-shmkit")


_pools: dict = {}


def _pool(size: int):
    """Distinct messages of ``size`` bytes (at least 4), each carrying its index, and their CRCs
    (at most 4 MiB of them; built once per size)."""
    hit = _pools.get(size)
    if hit is None:
        hit = _pools[size] = _make_pool(size)
    return hit


def _make_pool(size: int):
    size = max(size, 4)
    count = max(4, min(1024, (4 << 20) // size))
    msgs = []
    for i in range(count):
        body = bytes(((i * 131 + j * 7) & 0xFF) for j in range(min(size - 4, 256)))
        body = (body * (((size - 4) // max(len(body), 1)) + 1))[: size - 4] if size > 4 else b""
        msgs.append(struct.pack("<I", i) + body)
    return msgs, [zlib.crc32(m) for m in msgs]


def _cpu_us() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1e6


def _capacity(size: int) -> int:
    need = 4 * (size + 32)
    cap = 1 << 16
    while cap < need:
        cap <<= 1
    return cap


class _Transport:
    """One direction pair between the parent and the child, for one backend."""

    def __init__(self, backend: str, seg):
        self.backend = backend
        self._seg = seg
        if backend == "python-mp-queue":
            self.to_child, self.to_parent = mp.Queue(), mp.Queue()
        elif backend == "python-mp-pipe":
            self.child_end, self.parent_end = mp.Pipe(duplex=True)

    def ends(self, side: str, size: int):
        """(send, recv) callables for ``side`` ('parent' or 'child') at message size ``size``."""
        b = self.backend
        if b == "python-mp-queue":
            out, inp = (self.to_child, self.to_parent) if side == "parent" else (self.to_parent, self.to_child)
            return out.put, inp.get
        if b == "python-mp-pipe":
            c = self.parent_end if side == "parent" else self.child_end
            return c.send_bytes, c.recv_bytes
        seg = self._seg  # mapped before the fork: the child shares the mapping
        cap = _capacity(size)
        down = seg.channel(f"down-{size}", capacity=cap)
        up = seg.channel(f"up-{size}", capacity=cap)
        out, inp = (down, up) if side == "parent" else (up, down)
        return out.send, inp.recv


def _child(t: _Transport, control) -> None:
    while True:
        req = control.recv()
        if req is None:
            return
        pattern, size, n = req
        msgs, _ = _pool(size)
        k = len(msgs)
        send, recv = t.ends("child", size)
        control.send("ready")
        c0 = _cpu_us()
        if pattern == "stream":
            for i in range(n):
                send(msgs[i % k])
        else:
            for _ in range(n):
                send(recv())
        control.send(_cpu_us() - c0)


class Session:
    """A child process and a transport, reused for every run of one backend."""

    def __init__(self, backend: str):
        if backend not in BACKENDS:
            raise SystemExit(f"unknown backend {backend}")
        self.backend = backend
        self.seg = None
        if backend == "python-shmkit":
            from shmkit import Segment  # noqa: PLC0415

            self.seg = Segment.create(f"pybench-{os.getpid()}", size=40 << 20)
            # Both processes use the mapping (the child inherits it): the name can go at once,
            # so nothing is left behind in /dev/shm whatever happens to this process.
            self.seg.unlink()
        self.t = _Transport(backend, self.seg)
        self.control, child_control = mp.Pipe()
        self.proc = mp.get_context("fork").Process(target=_child, args=(self.t, child_control), daemon=True)
        self.proc.start()

    def run(self, pattern: str, size: int, n: int, timeout: float = 60.0) -> dict:
        msgs, crcs = _pool(size)
        k = len(msgs)
        send, recv = self.t.ends("parent", size)
        self.control.send((pattern, size, n))
        if not self.control.poll(timeout):
            raise RuntimeError("the child did not get ready")
        self.control.recv()
        verified, why = True, None
        rtts = None
        c0 = _cpu_us()
        t0 = time.perf_counter_ns()
        if pattern == "stream":
            for i in range(n):
                m = recv()
                j = i % k
                if len(m) != len(msgs[j]) or zlib.crc32(m) != crcs[j]:
                    verified, why = False, f"message {i} differs"
                    break
        else:
            rtts = [0] * n
            clock = time.perf_counter_ns
            for i in range(n):
                j = i % k
                s = clock()
                send(msgs[j])
                m = recv()
                rtts[i] = clock() - s
                if len(m) != len(msgs[j]) or zlib.crc32(m) != crcs[j]:
                    verified, why = False, f"round trip {i} differs"
                    break
        elapsed = time.perf_counter_ns() - t0
        cpu = _cpu_us() - c0
        if not self.control.poll(timeout):
            raise RuntimeError("the child did not finish")
        cpu += self.control.recv()
        return {"n": n, "elapsedNs": elapsed, "cpuUs": cpu, "verified": verified, "why": why, "rtts": rtts}

    def close(self) -> None:
        try:
            self.control.send(None)
            self.proc.join(5)
        finally:
            if self.proc.is_alive():
                self.proc.kill()


def serve(backend: str) -> None:
    """The harness protocol: a JSON request per line in, a JSON result per line out."""
    s = Session(backend)
    try:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            req = json.loads(line)
            try:
                out = s.run(req["pattern"], req["size"], req["n"], req.get("timeoutMs", 60000) / 1000)
            except Exception as e:  # noqa: BLE001 -- reported to the harness, which marks the run failed
                out = {"error": f"{type(e).__name__}: {e}"}
            print(json.dumps(out), flush=True)
    finally:
        s.close()


def _pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m shmkit.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", choices=BACKENDS)
    ap.add_argument("--sizes", default="64")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.3, help="target length of one timed rep")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    a = ap.parse_args(argv)
    if a.serve:
        serve(a.serve)
        return
    names = a.backends.split(",")
    sessions = {b: Session(b) for b in names}
    try:
        print(f"load average {os.getloadavg()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        for size in (int(s) for s in a.sizes.split(",")):
            for pattern in ("stream", "rtt"):
                counts = {}
                for b, s in sessions.items():  # calibrate: about `seconds` per rep
                    n = 200
                    while True:
                        r = s.run(pattern, size, n)
                        if r["elapsedNs"] > a.seconds * 1e9 / 4 or n > 10**7:
                            break
                        n *= 4
                    counts[b] = max(100, int(n * a.seconds * 1e9 / r["elapsedNs"]))
                rates, rtts = {b: [] for b in names}, {b: [] for b in names}
                for _ in range(a.reps):  # interleaved reps
                    for b, s in sessions.items():
                        r = s.run(pattern, size, counts[b])
                        if not r["verified"]:
                            raise SystemExit(f"{b}: not verified: {r['why']}")
                        rates[b].append(r["n"] / (r["elapsedNs"] / 1e9))
                        if r["rtts"]:
                            rtts[b].extend(r["rtts"])
                print(f"\n{pattern} {size} B (median of {a.reps} interleaved reps)")
                for b in names:
                    med = statistics.median(rates[b])
                    line = f"  {b:16} {med:>12,.0f} msgs/s"
                    if pattern == "rtt":
                        line += f"   p50 {_pct(rtts[b], 0.5) / 1000:8.1f} µs   p99 {_pct(rtts[b], 0.99) / 1000:8.1f} µs"
                    print(line)
                base = statistics.median(rates[names[-1]])
                for b in names[:-1]:
                    print(f"  {names[-1]} / {b}: {base / statistics.median(rates[b]):.2f}x msgs/s", end="")
                    if pattern == "rtt":
                        print(f", p50 {_pct(rtts[names[-1]], 0.5) / _pct(rtts[b], 0.5):.2f} of {b}'s", end="")
                    print()
        print(f"\nload average {os.getloadavg()}")
    finally:
        for s in sessions.values():
            s.close()


if __name__ == "__main__":
    main()
