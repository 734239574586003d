/**
 * The data path against its baselines (issue 9's targets), every ratio measured side by side in
 * one run: medians of >= 5 interleaved repetitions, the load average printed with them.
 *
 *   64 B, worker -> main:  recv, recvInto, recvMany, poll  vs  a minimal hand-written SAB ring
 *   1 MiB, worker -> main: recv vs postMessage with a transfer list; recvInto vs Uint8Array.set
 *   4 KiB, worker -> main: recv vs postMessage (structured clone copy)
 *   round trip, 64 B:      Channel ping-pong vs a C spin-then-futex ping-pong (built here with cc)
 *
 * Run: `npx tsx benchmarks/datapath.ts [--quick] [--save]`
 * (results go to reports/datapath.txt; --save writes benchmarks/results/datapath.txt).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import {
  ACK,
  GO,
  type Job,
  READY,
  RING_HEAD,
  RING_SLOTS,
  RING_SLOTS_AT,
  RING_TAIL,
  SLOT_WORDS,
} from './lib/datapath-protocol.js';
import { fmt, interleave, load, median, QUICK, writeResult } from './lib/harness.js';

const REPS = QUICK ? 5 : 7;
const N_SMALL = QUICK ? 200_000 : 1_000_000;
const N_BIG = QUICK ? 60 : 200;
const N_4K = QUICK ? 20_000 : 100_000;
const N_RTT = QUICK ? 10_000 : 50_000;
const WORKER = new URL('./lib/datapath-worker.ts', import.meta.url);
const BOOTSTRAP = new URL('./lib/ts-worker.mjs', import.meta.url);

/**
 * Starts the worker on `job`, runs `consume` from GO to the end, returns its wall ms — or the ms
 * `consume` returns, when it times a part of its run itself (after a warm-up).
 */
async function timed(
  job: Omit<Job, 'ctl'>,
  consume: () => void | number | Promise<void>,
  onMessage?: (m: unknown, ctl: Int32Array) => void,
): Promise<number> {
  const ctl = new SharedArrayBuffer(512);
  const c = new Int32Array(ctl);
  const w = new Worker(BOOTSTRAP, { workerData: { ...job, ctl, fixture: WORKER.href } });
  const done = new Promise<void>((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (m: unknown) => {
      if (m === 'done') resolve();
      else if (typeof m === 'object' && m !== null && 'error' in m) reject(new Error(String(m.error)));
      else onMessage?.(m, c);
    });
  });
  // Async: the worker's start-up (module loading through tsx) needs this thread's event loop.
  for (const t0 = performance.now(); Atomics.load(c, READY) === 0; ) {
    if (performance.now() - t0 > 60_000) throw new Error('the benchmark worker did not start');
    await new Promise((r) => setTimeout(r, 1));
  }
  const t0 = performance.now();
  Atomics.store(c, GO, 1);
  Atomics.notify(c, GO);
  const own = await consume();
  const ms = typeof own === 'number' ? own : performance.now() - t0;
  await done;
  await w.terminate();
  return ms;
}

function expectSum(sum: number, n: number, what: string): void {
  if (sum !== (n * (n - 1)) / 2) throw new Error(`${what}: checksum ${sum}, expected ${(n * (n - 1)) / 2}`);
}

const seqOf = (b: Uint8Array, off: number): number =>
  b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24);

// ---- 64 B, worker -> main ----

async function small(): Promise<Record<string, number[]>> {
  const n = N_SMALL;
  const rate = (ms: number): number => n / (ms / 1000);
  const channel = () => new Channel({ capacity: 1 << 20 });
  return interleave(REPS, {
    'sab-ring': async () => {
      const ring = new SharedArrayBuffer((RING_SLOTS_AT + RING_SLOTS * SLOT_WORDS) * 4);
      const r = new Int32Array(ring);
      let sum = 0;
      const ms = await timed({ job: 'sab-ring', n, size: 64, ring }, () => {
        let tail = 0;
        for (let i = 0; i < n; i++) {
          // acquire: pairs with the producer's store of tail.
          while (i >= tail) tail = Atomics.load(r, RING_TAIL);
          const at = RING_SLOTS_AT + (i % RING_SLOTS) * SLOT_WORDS;
          sum += r[at]!;
          for (let k = 1; k < SLOT_WORDS; k++) if (r[at + k] !== k) throw new Error('sab-ring: bad slot');
          // release: frees the slot.
          Atomics.store(r, RING_HEAD, i + 1);
        }
      });
      expectSum(sum, n, 'sab-ring');
      return rate(ms);
    },
    recv: async () => {
      const ch = channel();
      let sum = 0;
      const ms = await timed({ job: 'send', n, size: 64, channel: ch.handle }, () => {
        for (let i = 0; i < n; i++) sum += seqOf(ch.recv(), 0);
      });
      expectSum(sum, n, 'recv');
      return rate(ms);
    },
    recvInto: async () => {
      const ch = channel();
      const t = new Uint8Array(64);
      let sum = 0;
      const ms = await timed({ job: 'send', n, size: 64, channel: ch.handle }, () => {
        for (let i = 0; i < n; i++) {
          ch.recvInto(t);
          sum += seqOf(t, 0);
        }
      });
      expectSum(sum, n, 'recvInto');
      return rate(ms);
    },
    'recvMany+sendMany': async () => {
      const ch = channel();
      let sum = 0;
      const ms = await timed({ job: 'send-many', n, size: 64, channel: ch.handle }, () => {
        for (let got = 0; got < n; ) {
          const ms = ch.recvMany(256);
          for (const m of ms) sum += seqOf(m, 0);
          got += ms.length;
        }
      });
      expectSum(sum, n, 'recvMany');
      return rate(ms);
    },
    'poll+sendMany': async () => {
      const ch = channel();
      let sum = 0;
      const handler = (b: Uint8Array, off: number): void => {
        sum += seqOf(b, off);
      };
      const ms = await timed({ job: 'send-many', n, size: 64, channel: ch.handle }, () => {
        for (let got = 0; got < n; ) {
          const k = ch.poll(handler);
          if (k === 0) ch.waitReadable();
          got += k;
        }
      });
      expectSum(sum, n, 'poll');
      return rate(ms);
    },
  });
}

// ---- bigger messages ----

async function sized(
  size: number,
  n: number,
  window: number,
  withSet: boolean,
): Promise<Record<string, number[]>> {
  const rate = (ms: number): number => n / (ms / 1000);
  const capacity = Math.max(1 << 20, size * 4);
  const variants: Record<string, () => Promise<number>> = {
    postMessage: async () => {
      let sum = 0;
      let got = 0;
      let finish: () => void = () => {};
      const all = new Promise<void>((r) => (finish = r));
      const ms = await timed(
        { job: size >= 65536 ? 'post-transfer' : 'post-copy', n, size, window },
        () => all,
        (m, ctl) => {
          const bytes = m instanceof ArrayBuffer ? new Uint8Array(m) : (m as Uint8Array);
          sum += seqOf(bytes, 0);
          got++;
          // Flow control: tell the worker how many arrived.
          Atomics.add(ctl, ACK, 1);
          Atomics.notify(ctl, ACK);
          if (got === n) finish();
        },
      );
      expectSum(sum, n, 'postMessage');
      return rate(ms);
    },
    recv: async () => {
      const ch = new Channel({ capacity });
      let sum = 0;
      const ms = await timed({ job: 'send', n, size, channel: ch.handle }, () => {
        for (let i = 0; i < n; i++) sum += seqOf(ch.recv(), 0);
      });
      expectSum(sum, n, 'recv');
      return rate(ms);
    },
    recvInto: async () => {
      const ch = new Channel({ capacity });
      const t = new Uint8Array(size);
      let sum = 0;
      const ms = await timed({ job: 'send', n, size, channel: ch.handle }, () => {
        for (let i = 0; i < n; i++) {
          ch.recvInto(t);
          sum += seqOf(t, 0);
        }
      });
      expectSum(sum, n, 'recvInto');
      return rate(ms);
    },
  };
  if (withSet) {
    variants.set = async () => {
      // The memory-speed limit: one thread copying the same bytes out of shared memory.
      const src = new Uint8Array(new SharedArrayBuffer(size));
      const t = new Uint8Array(size);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) t.set(src);
      return rate(performance.now() - t0);
    };
  }
  return interleave(REPS, variants);
}

// ---- ping-pong ----

function buildPingPong(): string | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'shmkit-pp-'));
  const exe = path.join(dir, 'pingpong');
  try {
    execFileSync(
      'cc',
      ['-O2', '-pthread', '-o', exe, new URL('./lib/pingpong.c', import.meta.url).pathname],
      {
        stdio: 'pipe',
      },
    );
    return exe;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

async function rtt(exe: string | undefined): Promise<Record<string, number[]>> {
  const n = N_RTT;
  const variants: Record<string, () => Promise<number>> = {
    channel: async () => {
      const ping = new Channel({ capacity: 1 << 16 });
      const pong = new Channel({ capacity: 1 << 16 });
      const m = new Uint8Array(64);
      const t = new Uint8Array(64);
      // The worker is new each rep: the first round trips run its code unoptimised and are not
      // timed (the C program has no such start), so the figure is the steady state.
      const warm = Math.min(n, 20_000);
      const job = { job: 'echo', n: warm + n, size: 64, channel: ping.handle, pong: pong.handle } as const;
      const ms = await timed(job, () => {
        let t0 = 0;
        for (let i = 0; i < warm + n; i++) {
          if (i === warm) t0 = performance.now();
          m[0] = i & 255;
          ping.send(m);
          pong.recvInto(t);
          if (t[0] !== (i & 255)) throw new Error('rtt: wrong echo');
        }
        return performance.now() - t0;
      });
      return (ms * 1e6) / n; // ns per round trip
    },
  };
  if (exe !== undefined) {
    variants['c-futex'] = async () => Number(execFileSync(exe, [String(n)], { encoding: 'utf8' }).trim());
  }
  return interleave(REPS, variants);
}

// ---- report ----

function table(
  title: string,
  r: Record<string, number[]>,
  base: string,
  unit: string,
  higherIsBetter = true,
): string {
  const med = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  const lines = [`${title}   (load ${load()})`];
  for (const [k, v] of Object.entries(med)) {
    const ratio = higherIsBetter ? v / med[base]! : med[base]! / v;
    lines.push(`  ${k.padEnd(20)} ${fmt(v).padStart(14)} ${unit}   ${ratio.toFixed(2)}x ${base}`);
  }
  return lines.join('\n');
}

const out: string[] = [
  `shmkit data path benchmark — ${new Date().toISOString()}, node ${process.version}, ${REPS} interleaved reps, medians${QUICK ? ' (--quick)' : ''}`,
];
const say = (s: string): void => {
  console.log(s);
  out.push(s);
};
say(table(`64 B, worker -> main (${N_SMALL} msgs)`, await small(), 'sab-ring', 'msg/s'));
const big = await sized(1 << 20, N_BIG, 8, true);
say(table(`1 MiB, worker -> main (${N_BIG} msgs)`, big, 'postMessage', 'msg/s'));
say(`  recvInto / set: ${(median(big.recvInto!) / median(big.set!)).toFixed(2)}x`);
say(
  table(`4 KiB, worker -> main (${N_4K} msgs)`, await sized(4096, N_4K, 256, false), 'postMessage', 'msg/s'),
);
const exe = buildPingPong();
if (exe === undefined) say('round trip: no C compiler (cc) found: the C baseline is skipped');
say(
  table(
    `round trip, 64 B (${N_RTT} round trips)`,
    await rtt(exe),
    exe ? 'c-futex' : 'channel',
    'ns/rt',
    false,
  ),
);
if (exe !== undefined) rmSync(path.dirname(exe), { recursive: true, force: true });
console.log(`written to ${writeResult('datapath.txt', `${out.join('\n')}\n`)}`);
