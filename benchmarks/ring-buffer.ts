/**
 * RingBuffer (@shmkit/channel) against ringbuf.js 0.4.0, which it is a drop-in for, side by side
 * in one run: Float32 samples in chunks of 128 through a ring of 16,384 samples, in three shapes:
 *   worker → main   a worker pushes, the main thread pops
 *   main → worker   the main thread pushes, a worker pops
 *   one thread      the main thread pushes a chunk and pops it back (the cost of the calls alone)
 *
 * Run: `npm run bench:ringbuf` (builds first), or once built
 *   npx tsx benchmarks/ring-buffer.ts [--quick] [--reps=N] [--samples=N] [--save] [--impl=NAME=MODULE ...]
 * Prints one table per shape with each implementation's samples/s and its ratio to ringbuf.js,
 * and writes reports/ring-buffer.json (benchmarks/results/ring-buffer.json with --save).
 * `--impl=patched=./my-ring.js` adds another module exporting a RingBuffer (a patched copy, say)
 * to every shape, for investigations.
 *
 * How it is fair: every implementation runs in the same process, rep by rep, in alternating order
 * (A B, B A, ...), after a warm-up run of each; a figure is the median of the reps, and the ratio
 * of medians comes with the range of the per-rep ratios. Each implementation gets its own copy of
 * the loops (benchmarks/ring-buffer/loops.ts), so its call sites stay monomorphic. Every
 * sample is checked (the first of each chunk, and the sum of all). The worker is
 * ring-buffer/worker.ts; lib/harness.ts and lib/control.ts are shared with the other benchmarks. Both threads spin: on a busy
 * machine a spinning pair suffers, so the load average before and after is printed and saved.
 */
import os from 'node:os';
import { DONE, GO, newControl, READY, SUM, throwIfFailed, waitFor } from './lib/control.js';
import { alternate, argValue, fixed, median, QUICK, writeJson } from './lib/harness.js';
import { BenchWorker } from './lib/worker.js';
import { type Impl, load } from './ring-buffer/impls.js';
import type { RingJob } from './ring-buffer/worker.js';

const REPS = Number(argValue('reps') ?? (QUICK ? 3 : 7));
const CHUNK = 128;
/** Samples per timed run (`--samples=N`, rounded to a multiple of CHUNK); warm-up runs move a quarter. */
const N = Math.max(1, Math.floor(Number(argValue('samples') ?? (QUICK ? 1 << 22 : 1 << 25)) / CHUNK)) * CHUNK;
const CAPACITY = 16_384;
/** Bound on every wait and spin: a broken ring fails the run instead of hanging it. */
const TIMEOUT_MS = 60_000;

const SHAPES = ['worker → main', 'main → worker', 'one thread'] as const;
type Shape = (typeof SHAPES)[number];

const BASELINE: Impl = { name: 'ringbuf.js 0.4.0', url: import.meta.resolve('ringbuf.js') };
const IMPLS: Impl[] = [
  { name: 'RingBuffer', url: import.meta.resolve('@shmkit/channel') },
  ...process.argv
    .filter((a) => a.startsWith('--impl='))
    .map((a) => {
      const [name, path] = a.slice(7).split('=');
      if (!name || !path) throw new Error(`--impl=NAME=MODULE, got ${a}`);
      return { name, url: new URL(path, `file://${process.cwd()}/`).href };
    }),
  BASELINE,
];

/**
 * Samples per second of wall time (the figure), and per second of CPU time (both threads). For
 * the one-thread shape the CPU rate is the steadier figure on a busy machine: it does not count
 * the time the thread spent descheduled. For two threads that spin it means little.
 */
interface Rate {
  wall: number;
  cpu: number;
}

/** One timed run: samples per second of wall time, and per second of the process's CPU time. */
async function runOnce(worker: BenchWorker, shape: Shape, impl: Impl, n: number): Promise<Rate> {
  const { RingBuffer, loops } = await load(impl);
  const sab = RingBuffer.getStorageForCapacity(CAPACITY, Float32Array);
  const rb = new RingBuffer(sab, Float32Array);
  if (rb.capacity() !== CAPACITY) throw new Error(`${impl.name}: capacity ${rb.capacity()}`);
  let sum: number;
  let t0: number;
  const cpu0 = process.cpuUsage();
  if (shape === 'one thread') {
    t0 = performance.now();
    sum = loops.alternate(rb, n, CHUNK);
  } else {
    const ctl = newControl();
    const role = shape === 'worker → main' ? 'produce' : 'consume';
    worker.post({ ctl, sab, impl, role, n, chunk: CHUNK, timeoutMs: TIMEOUT_MS } satisfies RingJob);
    waitFor(ctl, READY, 1, TIMEOUT_MS, 'attach the ring');
    t0 = performance.now();
    // release: the worker spins on GO, so both sides start together.
    Atomics.store(ctl, GO, 1);
    const deadline = t0 + TIMEOUT_MS;
    if (role === 'produce') sum = loops.consume(rb, n, CHUNK, deadline);
    else loops.produce(rb, n, CHUNK, deadline);
    waitFor(ctl, DONE, 1, TIMEOUT_MS, 'finish');
    throwIfFailed(ctl);
    // acquire (DONE above): the worker's sum is in place.
    if (role === 'consume') sum = new Float64Array(ctl.buffer)[SUM]!;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const expected = loops.expectedSum(n);
  if (sum! !== expected) throw new Error(`${impl.name}, ${shape}: checksum ${sum!}, expected ${expected}`);
  return { wall: n / seconds, cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

interface Ratio {
  ofMedians: number;
  min: number;
  max: number;
  /**
   * Best rep over best rep: on a busy machine the fastest rep is the one least disturbed by
   * other processes, so this ratio shows what preemption hides in the medians (information; the
   * medians are the figure).
   */
  ofBest: number;
}

interface ShapeResult {
  shape: Shape;
  /** Per implementation: samples/s (wall time) of every rep, in rep order. */
  perRep: Record<string, number[]>;
  median: Record<string, number>;
  /** Per implementation: median / ringbuf.js's median, and the range of the per-rep ratios. */
  ratio: Record<string, Ratio>;
  /** The same by CPU time (see Rate). */
  cpuPerRep: Record<string, number[]>;
  cpuRatio: Record<string, Ratio>;
}

/** Each implementation's median over ringbuf.js's, and the range of the per-rep ratios. */
function ratios(perRep: Record<string, number[]>): Record<string, Ratio> {
  const base = perRep[BASELINE.name]!;
  const out: Record<string, Ratio> = {};
  for (const impl of IMPLS) {
    const reps = perRep[impl.name]!.map((x, i) => x / base[i]!);
    out[impl.name] = {
      ofMedians: median(perRep[impl.name]!) / median(base),
      min: Math.min(...reps),
      max: Math.max(...reps),
      ofBest: Math.max(...perRep[impl.name]!) / Math.max(...base),
    };
  }
  return out;
}

async function measure(worker: BenchWorker, shape: Shape): Promise<ShapeResult> {
  const byName = new Map(IMPLS.map((impl) => [impl.name, impl]));
  const warmN = Math.max(CHUNK, (N / 4) & ~(CHUNK - 1));
  const rates = await alternate(
    REPS,
    IMPLS.map((impl) => impl.name),
    (name, warm) => runOnce(worker, shape, byName.get(name)!, warm ? warmN : N),
  );
  const perRep: Record<string, number[]> = {};
  const cpuPerRep: Record<string, number[]> = {};
  const med: Record<string, number> = {};
  for (const impl of IMPLS) {
    perRep[impl.name] = rates[impl.name]!.map((r) => r.wall);
    cpuPerRep[impl.name] = rates[impl.name]!.map((r) => r.cpu);
    med[impl.name] = median(perRep[impl.name]!);
  }
  return { shape, perRep, median: med, ratio: ratios(perRep), cpuPerRep, cpuRatio: ratios(cpuPerRep) };
}

const fmt = (x: number, digits = 2): string => fixed(x, digits);

async function main(): Promise<void> {
  if (REPS < 5 && !QUICK) throw new Error('--reps must be at least 5 (medians of >= 5 reps)');
  const loadBefore = os.loadavg();
  console.log(
    `RingBuffer vs ringbuf.js 0.4.0: ${N.toLocaleString('en-US')} Float32 samples per run, chunks of ` +
      `${CHUNK}, capacity ${CAPACITY}, median of ${REPS} reps${QUICK ? ' (--quick: not a result)' : ''}`,
  );
  console.log(
    `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ` +
      `load average ${loadBefore.map((x) => fmt(x)).join(' ')}`,
  );
  const worker = new BenchWorker(new URL('./ring-buffer/worker.ts', import.meta.url));
  const results: ShapeResult[] = [];
  try {
    await worker.next(TIMEOUT_MS); // 'ready'
    for (const shape of SHAPES) {
      const r = await measure(worker, shape);
      results.push(r);
      console.log(`\n${shape}`);
      console.table(
        IMPLS.map((impl) => ({
          implementation: impl.name,
          'M samples/s': fmt(r.median[impl.name]! / 1e6, 1),
          'vs ringbuf.js': `${fmt(r.ratio[impl.name]!.ofMedians)}x`,
          'per rep': `${fmt(r.ratio[impl.name]!.min)}-${fmt(r.ratio[impl.name]!.max)}x`,
          'best rep M/s': fmt(Math.max(...r.perRep[impl.name]!) / 1e6, 1),
          'best vs best': `${fmt(r.ratio[impl.name]!.ofBest)}x`,
          ...(shape === 'one thread'
            ? {
                'by CPU time': `${fmt(r.cpuRatio[impl.name]!.ofMedians)}x`,
                'per rep (CPU)': `${fmt(r.cpuRatio[impl.name]!.min)}-${fmt(r.cpuRatio[impl.name]!.max)}x`,
              }
            : {}),
        })),
      );
    }
  } finally {
    await worker.terminate();
  }
  const loadAfter = os.loadavg();
  console.log(`\nload average after: ${loadAfter.map((x) => fmt(x)).join(' ')}`);
  console.log('target: RingBuffer >= 1.00x ringbuf.js in every shape');
  for (const r of results) {
    const x = r.ratio.RingBuffer!;
    const c = r.cpuRatio.RingBuffer!;
    console.log(
      `  ${r.shape.padEnd(14)} ${fmt(x.ofMedians)}x (${fmt(x.min)}-${fmt(x.max)}x)  ${x.ofMedians >= 1 ? 'met' : 'MISSED'}; best vs best ${fmt(x.ofBest)}x` +
        (r.shape === 'one thread' ? `; by CPU time ${fmt(c.ofMedians)}x (${fmt(c.min)}-${fmt(c.max)}x)` : ''),
    );
  }
  const file = writeJson('ring-buffer.json', {
    schema: 'shmkit-ringbuf-bench/1',
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      loadBefore,
      loadAfter,
    },
    settings: { samples: N, chunk: CHUNK, capacity: CAPACITY, reps: REPS, quick: QUICK },
    implementations: IMPLS,
    results,
  });
  console.log(`wrote ${file}`);
}

await main();
