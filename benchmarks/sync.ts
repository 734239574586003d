/**
 * What @shmkit/sync's Mutex costs, measured side by side with the cheapest lock one can write by
 * hand: a spin lock on one Int32Array word (`Atomics.compareExchange(w, 0, 0, 1)` until it
 * succeeds, `Atomics.store(w, 0, 0)` to release; no waiter count, no owner, no sleeping, no
 * timeouts). The spin lock is the floor, not a competitor: it cannot sleep, so a waiter burns a
 * core for as long as it waits, it has no error checking, and it cannot be awaited without
 * stalling the event loop. The ratios say what the Mutex's extra guarantees cost.
 *
 * Run: `npx tsx benchmarks/sync.ts [--quick]` (or `npm run bench:sync`, which builds first).
 * Prints three tables and writes benchmarks/results/sync.json.
 *
 * (a) uncontended, main thread: lock+unlock, tryLock+unlock, `using _ = m.acquire()` and
 *     `await m.lockAsync()`+unlock, in ns per pair.
 * (b) contended: two worker threads each do N lock / non-atomic increment / unlock of one shared
 *     counter; wall time from a common start to the last finisher, ns per lock op = wall / 2N.
 *     The counter must come out exactly 2N (the increment is deliberately not atomic).
 * (c) async hand-off: the main thread takes the lock with `await` while one worker takes it with
 *     blocking calls in a tight loop, for a fixed time; ops/s of each side.
 *
 * Why it is built this way:
 * - The machine is shared and noisy (docs/architecture.md, "Benchmarks"): both sides of every comparison run
 *   in the same process, alternating order rep by rep; each number is the median of REPS reps,
 *   after a warm-up run that lets V8 optimize every loop.
 * - Lock word, counter and control words sit on separate 128-byte lines of one buffer, the same
 *   layout for the Mutex and the spin lock, so neither side gets (or suffers) false sharing by luck.
 * - Workers are plain JavaScript passed as a string (`eval: true`) that imports the built
 *   @shmkit/sync by URL: on Node 20 a tsx loader does not reach a worker's entry module, and plain
 *   JS keeps the hot loops free of any transform. The same two workers serve every round; each
 *   round starts on a shared "go" word that the workers spin on, so both start together.
 * - Every wait on a worker is bounded: a lock bug fails the run with a message instead of hanging.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CACHE_LINE, Region } from '@shmkit/core';
import { Mutex } from '@shmkit/sync';

const QUICK = process.argv.includes('--quick');
/** Timed repetitions of every measurement; tables show the median. */
const REPS = 5;
/** (a) lock/unlock pairs per timed run on the main thread. */
const N_UNCONTENDED = QUICK ? 200_000 : 2_000_000;
/** (a) pairs per timed run of the async forms (each pair costs a few promise ticks). */
const N_ASYNC_UNCONTENDED = QUICK ? 50_000 : 500_000;
/** (b) lock/increment/unlock ops per worker per timed run. */
const N_CONTENDED = QUICK ? 50_000 : 2_000_000;
/** (c) milliseconds per timed run. */
const ASYNC_MS = QUICK ? 60 : 500;
/** Upper bound on any single wait for a worker. */
const WORKER_TIMEOUT_MS = 60_000;

// Layout of the shared buffer of (b) and (c): one cache line each.
const LOCK_AT = 0; // the Mutex (Mutex.SIZE bytes) or the spin lock word
const COUNTER_AT = CACHE_LINE; // the counter the lock protects
const CTL_AT = 2 * CACHE_LINE; // control words, written by the main thread
const SHARED_BYTES = 3 * CACHE_LINE;
// Control words (Int32 indices from CTL_AT).
const READY = 0; // workers add 1 when set up for the round
const GO = 1; // main sets 1: start
const STOP = 2; // main sets 1: (c) stop looping

type Kind = 'mutex' | 'spin';

// ---------------------------------------------------------------------------------------------
// The baseline spin lock. Minimal on purpose: no test-before-CAS, no back-off, no yielding.

function spinLock(w: Int32Array): void {
  // acquire: pairs with the store in spinUnlock.
  while (Atomics.compareExchange(w, 0, 0, 1) !== 0) {}
}

function spinUnlock(w: Int32Array): void {
  // release: publishes the critical section to the next successful CAS.
  Atomics.store(w, 0, 0);
}

/** The spin lock's counterpart of Mutex.acquire(): a fresh disposable per acquisition, like Guard. */
class SpinGuard implements Disposable {
  constructor(private readonly w: Int32Array) {}
  [Symbol.dispose](): void {
    spinUnlock(this.w);
  }
}

const resolved = Promise.resolve();

/**
 * The spin lock's counterpart of `await m.lockAsync()`: tryLock, and on failure `await` an
 * already-resolved promise and retry. That await only yields to other microtasks, never to the
 * event loop: while the lock is held elsewhere this burns the main thread and starves timers and
 * I/O. It is the cheapest async shape possible (a lower bound on latency), not a usable pattern.
 */
async function spinLockAsync(w: Int32Array): Promise<void> {
  while (Atomics.compareExchange(w, 0, 0, 1) !== 0) await resolved;
}

/**
 * A variant that does yield to the event loop between tries (setImmediate), the least a server
 * could get away with. Reported as an extra row of (c) only.
 */
async function spinLockAsyncYielding(w: Int32Array): Promise<void> {
  while (Atomics.compareExchange(w, 0, 0, 1) !== 0) await new Promise<void>((r) => setImmediate(r));
}

// ---------------------------------------------------------------------------------------------
// Worker: plain JavaScript. Jobs arrive by message; every round starts on the GO word.

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const now = () => performance.timeOrigin + performance.now();
import(workerData.syncUrl).then(({ Mutex }) => {
  parentPort.on('message', (job) => {
    const shared = job.shared;
    const counter = new Int32Array(shared, ${COUNTER_AT}, 1);
    const ctl = new Int32Array(shared, ${CTL_AT}, 4);
    const w = new Int32Array(shared, ${LOCK_AT}, 1);
    const m = job.kind === 'mutex' ? Mutex.from(job.mutex) : null;
    Atomics.add(ctl, ${READY}, 1);
    Atomics.notify(ctl, ${READY});
    while (Atomics.load(ctl, ${GO}) === 0) {}
    if (job.job === 'contended') {
      const n = job.n;
      const t0 = now();
      if (m) {
        for (let i = 0; i < n; i++) { m.lock(); counter[0] = counter[0] + 1; m.unlock(); }
      } else {
        for (let i = 0; i < n; i++) {
          while (Atomics.compareExchange(w, 0, 0, 1) !== 0) {}
          counter[0] = counter[0] + 1;
          Atomics.store(w, 0, 0);
        }
      }
      const end = now();
      parentPort.postMessage({ end, elapsed: end - t0 });
    } else {
      // 'partner' of (c): blocking lock/increment/unlock until the main thread says stop.
      let ops = 0;
      if (m) {
        while (Atomics.load(ctl, ${STOP}) === 0) { m.lock(); counter[0] = counter[0] + 1; m.unlock(); ops++; }
      } else {
        while (Atomics.load(ctl, ${STOP}) === 0) {
          while (Atomics.compareExchange(w, 0, 0, 1) !== 0) {}
          counter[0] = counter[0] + 1;
          Atomics.store(w, 0, 0);
          ops++;
        }
      }
      parentPort.postMessage({ ops });
    }
  });
  parentPort.postMessage('ready');
});
`;

interface ContendedResult {
  end: number;
  elapsed: number;
}
interface PartnerResult {
  ops: number;
}

/** One started worker and a bounded wait for its next message. */
class BenchWorker {
  readonly w: Worker;
  private failure: Error | undefined;

  constructor(syncUrl: string) {
    this.w = new Worker(workerSource, { eval: true, workerData: { syncUrl } });
    this.w.on('error', (e) => {
      this.failure = e;
    });
  }

  next<T>(): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`benchmark worker: no answer within ${WORKER_TIMEOUT_MS} ms`));
      }, WORKER_TIMEOUT_MS);
      const onMessage = (m: T): void => {
        cleanup();
        resolve(m);
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`benchmark worker exited with code ${code}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.w.off('message', onMessage);
        this.w.off('error', onError);
        this.w.off('exit', onExit);
      };
      this.w.on('message', onMessage);
      this.w.on('error', onError);
      this.w.on('exit', onExit);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const now = (): number => performance.timeOrigin + performance.now();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Blocks the main thread (fine in a benchmark) until `ctl[index] >= value`, bounded. */
function waitAtLeast(ctl: Int32Array, index: number, value: number): void {
  const deadline = performance.now() + WORKER_TIMEOUT_MS;
  for (;;) {
    const v = Atomics.load(ctl, index);
    if (v >= value) return;
    if (performance.now() > deadline) throw new Error('benchmark workers did not get ready in time');
    Atomics.wait(ctl, index, v, 100);
  }
}

/** A fresh buffer with the (b)/(c) layout; for 'mutex', a Mutex placed at LOCK_AT. */
function freshShared(kind: Kind): { shared: SharedArrayBuffer; mutex: Mutex | undefined } {
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const mutex = kind === 'mutex' ? new Mutex({ region: new Region(shared, LOCK_AT, Mutex.SIZE) }) : undefined;
  return { shared, mutex };
}

/** Runs `timed` for REPS reps of both sides, alternating which goes first; returns ns per op. */
async function pairOfMedians(
  shmkit: () => number | Promise<number>,
  spin: () => number | Promise<number>,
): Promise<{ shmkit: number[]; spin: number[] }> {
  await shmkit(); // warm-up: lets V8 optimize both loops before anything is timed
  await spin();
  const out = { shmkit: [] as number[], spin: [] as number[] };
  for (let r = 0; r < REPS; r++) {
    if (r % 2 === 0) {
      out.shmkit.push(await shmkit());
      out.spin.push(await spin());
    } else {
      out.spin.push(await spin());
      out.shmkit.push(await shmkit());
    }
  }
  return out;
}

function nsPerOp(n: number, run: () => void): number {
  const t0 = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - t0) / n;
}

async function nsPerOpAsync(n: number, run: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / n;
}

const fmt = (x: number, digits = 1): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// (a) Uncontended, main thread. One function per variant so that each loop is optimized alone.

function mutexLockUnlock(m: Mutex, n: number): void {
  for (let i = 0; i < n; i++) {
    m.lock();
    m.unlock();
  }
}
function spinLockUnlock(w: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    spinLock(w);
    spinUnlock(w);
  }
}
function mutexTryLock(m: Mutex, n: number): void {
  for (let i = 0; i < n; i++) {
    if (!m.tryLock()) throw new Error('tryLock failed on a free mutex');
    m.unlock();
  }
}
function spinTryLock(w: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(w, 0, 0, 1) !== 0) throw new Error('tryLock failed on a free spin lock');
    spinUnlock(w);
  }
}
// On Node 20 `using` is down-levelled by the compiler (tsx/esbuild here, tsc likewise): these rows
// include the helper's bookkeeping, the same for both sides.
function mutexUsing(m: Mutex, n: number): void {
  for (let i = 0; i < n; i++) {
    using _ = m.acquire();
  }
}
function spinUsing(w: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    spinLock(w);
    using _ = new SpinGuard(w);
  }
}
async function mutexAsync(m: Mutex, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await m.lockAsync();
    m.unlock();
  }
}
async function spinAsync(w: Int32Array, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await spinLockAsync(w);
    spinUnlock(w);
  }
}

interface Row {
  operation: string;
  unit: string;
  shmkit: number;
  spin: number;
  samples: { shmkit: number[]; spin: number[] };
  [extra: string]: unknown;
}

async function uncontended(): Promise<Row[]> {
  const m = new Mutex();
  const w = new Int32Array(new SharedArrayBuffer(CACHE_LINE));
  const n = N_UNCONTENDED;
  const na = N_ASYNC_UNCONTENDED;
  const cases: [string, () => number | Promise<number>, () => number | Promise<number>][] = [
    [
      'lock + unlock',
      () => nsPerOp(n, () => mutexLockUnlock(m, n)),
      () => nsPerOp(n, () => spinLockUnlock(w, n)),
    ],
    [
      'tryLock + unlock',
      () => nsPerOp(n, () => mutexTryLock(m, n)),
      () => nsPerOp(n, () => spinTryLock(w, n)),
    ],
    [
      'using _ = m.acquire()',
      () => nsPerOp(n, () => mutexUsing(m, n)),
      () => nsPerOp(n, () => spinUsing(w, n)),
    ],
    [
      'await lockAsync() + unlock',
      () => nsPerOpAsync(na, () => mutexAsync(m, na)),
      () => nsPerOpAsync(na, () => spinAsync(w, na)),
    ],
  ];
  const rows: Row[] = [];
  for (const [operation, a, b] of cases) {
    const s = await pairOfMedians(a, b);
    rows.push({ operation, unit: 'ns/pair', shmkit: median(s.shmkit), spin: median(s.spin), samples: s });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// (b) Contended: two workers, N ops each.

async function contendedRound(kind: Kind, workers: BenchWorker[]): Promise<number> {
  const n = N_CONTENDED;
  const { shared, mutex } = freshShared(kind);
  const ctl = new Int32Array(shared, CTL_AT, 4);
  const counter = new Int32Array(shared, COUNTER_AT, 1);
  const answers = workers.map((wk) => wk.next<ContendedResult>());
  for (const wk of workers) wk.w.postMessage({ job: 'contended', kind, shared, mutex: mutex?.handle, n });
  waitAtLeast(ctl, READY, workers.length);
  const start = now();
  Atomics.store(ctl, GO, 1);
  const results = await Promise.all(answers);
  const wall = Math.max(...results.map((r) => r.end)) - start;
  const expected = n * workers.length;
  if (counter[0] !== expected) {
    throw new Error(`${kind}: counter is ${counter[0]}, expected ${expected}: the lock let two threads in`);
  }
  return (wall * 1e6) / expected; // ns per lock op
}

async function contended(workers: BenchWorker[]): Promise<Row> {
  const s = await pairOfMedians(
    () => contendedRound('mutex', workers),
    () => contendedRound('spin', workers),
  );
  const ops = N_CONTENDED * workers.length;
  const shmkit = median(s.shmkit);
  const spin = median(s.spin);
  return {
    operation: `2 workers x ${N_CONTENDED.toLocaleString('en-US')} lock/++/unlock`,
    unit: 'ns/lock op',
    shmkit,
    spin,
    samples: s,
    shmkitTotalMs: (shmkit * ops) / 1e6,
    spinTotalMs: (spin * ops) / 1e6,
    verified: true,
  };
}

// ---------------------------------------------------------------------------------------------
// (c) Async hand-off: main thread awaits the lock, one worker blocks on it, for ASYNC_MS.

type AsyncVariant = 'mutex' | 'spin' | 'spin-yielding';

interface AsyncRound {
  mainOpsPerSec: number;
  workerOpsPerSec: number;
  cpuCores: number;
}

async function asyncRound(variant: AsyncVariant, worker: BenchWorker): Promise<AsyncRound> {
  const kind: Kind = variant === 'mutex' ? 'mutex' : 'spin';
  const { shared, mutex } = freshShared(kind);
  const ctl = new Int32Array(shared, CTL_AT, 4);
  const counter = new Int32Array(shared, COUNTER_AT, 1);
  const w = new Int32Array(shared, LOCK_AT, 1);
  const answer = worker.next<PartnerResult>();
  worker.w.postMessage({ job: 'partner', kind, shared, mutex: mutex?.handle });
  waitAtLeast(ctl, READY, 1);
  const cpu0 = process.cpuUsage();
  const start = now();
  const end = start + ASYNC_MS;
  // Should the main thread ever starve, stop the worker: the loop below then gets the lock and ends.
  // (Timers only fire when the main thread yields to the event loop: not in the microtask variant,
  // whose await never does; there the worker's tight loop keeps releasing the lock instead.)
  const watchdog = setTimeout(() => Atomics.store(ctl, STOP, 1), WORKER_TIMEOUT_MS);
  Atomics.store(ctl, GO, 1);
  let ops = 0;
  if (mutex !== undefined) {
    do {
      await mutex.lockAsync();
      counter[0] = counter[0]! + 1;
      mutex.unlock();
      ops++;
    } while ((ops & 15) !== 0 || now() < end);
  } else {
    const lock = variant === 'spin' ? spinLockAsync : spinLockAsyncYielding;
    do {
      await lock(w);
      counter[0] = counter[0]! + 1;
      spinUnlock(w);
      ops++;
    } while ((ops & 15) !== 0 || now() < end);
  }
  const elapsed = now() - start;
  Atomics.store(ctl, STOP, 1);
  clearTimeout(watchdog);
  const { ops: workerOps } = await answer;
  const cpu = process.cpuUsage(cpu0);
  if (counter[0] !== ops + workerOps) {
    throw new Error(`${variant}: counter is ${counter[0]}, expected ${ops + workerOps}`);
  }
  return {
    mainOpsPerSec: (ops * 1000) / elapsed,
    workerOpsPerSec: (workerOps * 1000) / elapsed,
    cpuCores: (cpu.user + cpu.system) / 1000 / elapsed,
  };
}

async function asyncHandOff(worker: BenchWorker): Promise<Row[]> {
  const rounds: Record<AsyncVariant, AsyncRound[]> = { mutex: [], spin: [], 'spin-yielding': [] };
  const order: AsyncVariant[] = ['mutex', 'spin', 'spin-yielding'];
  for (const v of order) await asyncRound(v, worker); // warm-up
  for (let r = 0; r < REPS; r++) {
    const ordered = r % 2 === 0 ? order : [...order].reverse();
    for (const v of ordered) rounds[v].push(await asyncRound(v, worker));
  }
  const med = (v: AsyncVariant, k: keyof AsyncRound): number => median(rounds[v].map((x) => x[k]));
  const row = (operation: string, baseline: AsyncVariant): Row => ({
    operation,
    unit: 'main ops/s',
    shmkit: med('mutex', 'mainOpsPerSec'),
    spin: med(baseline, 'mainOpsPerSec'),
    samples: {
      shmkit: rounds.mutex.map((x) => x.mainOpsPerSec),
      spin: rounds[baseline].map((x) => x.mainOpsPerSec),
    },
    shmkitWorkerOpsPerSec: med('mutex', 'workerOpsPerSec'),
    spinWorkerOpsPerSec: med(baseline, 'workerOpsPerSec'),
    shmkitCpuCores: med('mutex', 'cpuCores'),
    spinCpuCores: med(baseline, 'cpuCores'),
    verified: true,
  });
  return [
    row('lockAsync vs spin + await resolved promise', 'spin'),
    row('lockAsync vs spin + await setImmediate', 'spin-yielding'),
  ];
}

// ---------------------------------------------------------------------------------------------

function ratio(r: Row): string {
  return `${fmt(r.shmkit / r.spin, 2)}x`;
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
  console.log(`shmkit sync benchmark${QUICK ? ' (--quick)' : ''}: Mutex vs a hand-written Atomics spin lock`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}`);
  console.log(`median of ${REPS} reps after a warm-up; ratio = shmkit / spin\n`);
  const t0 = performance.now();

  const a = await uncontended();
  console.log('(a) uncontended, main thread (ns per pair, lower is better)');
  console.table(
    a.map((r) => ({
      operation: r.operation,
      'shmkit ns': fmt(r.shmkit),
      'spin ns': fmt(r.spin),
      ratio: ratio(r),
    })),
  );

  const syncUrl = import.meta.resolve('@shmkit/sync');
  const workers = [new BenchWorker(syncUrl), new BenchWorker(syncUrl)];
  try {
    await Promise.all(workers.map((wk) => wk.next<string>()));

    const b = await contended(workers);
    console.log('(b) contended, 2 worker threads (ns per lock op, lower is better; counter verified exact)');
    console.table([
      {
        operation: b.operation,
        'shmkit ns/op': fmt(b.shmkit),
        'spin ns/op': fmt(b.spin),
        ratio: ratio(b),
        'shmkit total ms': fmt(b.shmkitTotalMs as number),
        'spin total ms': fmt(b.spinTotalMs as number),
      },
    ]);

    const c = await asyncHandOff(workers[0]!);
    console.log(
      `(c) async hand-off: main thread awaits the lock, 1 worker takes it in a tight blocking loop, ` +
        `${ASYNC_MS} ms per run (ops/s, higher is better, so ratio < 1 means shmkit is slower; counter verified exact)`,
    );
    console.table(
      c.map((r) => ({
        operation: r.operation,
        'shmkit main ops/s': fmt(r.shmkit, 0),
        'spin main ops/s': fmt(r.spin, 0),
        ratio: ratio(r),
        'shmkit worker ops/s': fmt(r.shmkitWorkerOpsPerSec as number, 0),
        'spin worker ops/s': fmt(r.spinWorkerOpsPerSec as number, 0),
      })),
    );

    const seconds = (performance.now() - t0) / 1000;
    console.log(`total ${fmt(seconds)} s`);
    const report = {
      schema: 'shmkit-bench-sync/1',
      date: new Date().toISOString(),
      quick: QUICK,
      machine,
      params: {
        reps: REPS,
        uncontendedPairs: N_UNCONTENDED,
        asyncUncontendedPairs: N_ASYNC_UNCONTENDED,
        contendedOpsPerWorker: N_CONTENDED,
        asyncRunMs: ASYNC_MS,
      },
      results: { uncontended: a, contended: [b], asyncHandOff: c },
      seconds,
    };
    const dir = new URL('./results/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    writeFileSync(new URL('sync.json', dir), `${JSON.stringify(report, null, 2)}\n`);
    console.log('results written to benchmarks/results/sync.json');
  } finally {
    await Promise.all(workers.map((wk) => wk.w.terminate()));
  }
}

await main();
