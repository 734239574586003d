/**
 * What @shmkit/sync's Mutex costs, measured side by side with the cheapest lock one can write by
 * hand: a spin lock on one Int32Array word (`Atomics.compareExchange(w, 0, 0, 1)` until it
 * succeeds, `Atomics.store(w, 0, 0)` to release; no waiter count, no owner, no sleeping, no
 * timeouts). The spin lock is the floor, not a competitor: it cannot sleep, so a waiter burns a
 * core for as long as it waits, it has no error checking, and it cannot be awaited without
 * stalling the event loop. The ratios say what the Mutex's extra guarantees cost.
 *
 * Run: `npx tsx benchmarks/sync.ts [--quick] [--save]` (or `npm run bench:sync`, which builds
 * first). Prints three tables and writes reports/sync.json (benchmarks/results/sync.json with
 * --save).
 *
 * (a) uncontended, main thread (sync/uncontended.ts): lock+unlock, tryLock+unlock, `using _ = m.acquire()` and
 *     `await m.lockAsync()`+unlock, in ns per pair.
 * (b) contended (sync/contended.ts): two worker threads each do N lock / non-atomic increment / unlock of one shared
 *     counter; wall time from a common start to the last finisher, ns per lock op = wall / 2N.
 *     The counter must come out exactly 2N (the increment is deliberately not atomic).
 * (c) async hand-off (sync/contended.ts): the main thread takes the lock with `await` while one worker takes it with
 *     blocking calls in a tight loop, for a fixed time; ops/s of each side.
 *
 * Why it is built this way:
 * - The machine is shared and noisy (docs/architecture.md, "Benchmarks"): both sides of every comparison run
 *   in the same process, alternating order rep by rep; each number is the median of REPS reps,
 *   after a warm-up run that lets V8 optimize every loop.
 * - Lock word and counter sit on separate 128-byte lines of one buffer, the same layout for the
 *   Mutex and the spin lock (sync/spin-lock.ts), so neither side gets (or suffers) false sharing
 *   by luck (sync/protocol.ts).
 * - The workers are sync/worker.ts (started through lib/worker.ts). The same two workers serve
 *   every round; each round starts on a shared GO word that the workers spin on, so both start
 *   together.
 * - Every wait on a worker is bounded: a lock bug fails the run with a message instead of hanging.
 */
import { fixed, loadAverage, machine, QUICK, writeJson } from './lib/harness.js';
import { BenchWorker } from './lib/worker.js';
import { ASYNC_MS, asyncHandOff, contended, N_CONTENDED } from './sync/contended.js';
import { WORKER_TIMEOUT_MS } from './sync/protocol.js';
import { REPS, ratio } from './sync/row.js';
import { N_ASYNC_UNCONTENDED, N_UNCONTENDED, uncontended } from './sync/uncontended.js';

async function main(): Promise<void> {
  const m = { ...machine(), loadAverageAtStart: loadAverage() };
  console.log(`shmkit sync benchmark${QUICK ? ' (--quick)' : ''}: Mutex vs a hand-written Atomics spin lock`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.kernel} ${m.arch}`);
  console.log(`load average ${m.loadAverageAtStart.map((x) => fixed(x, 2)).join(' ')}`);
  console.log(`median of ${REPS} reps after a warm-up; ratio = shmkit / spin\n`);
  const t0 = performance.now();

  const a = await uncontended();
  console.log('(a) uncontended, main thread (ns per pair, lower is better)');
  console.table(
    a.map((r) => ({
      operation: r.operation,
      'shmkit ns': fixed(r.shmkit),
      'spin ns': fixed(r.spin),
      ratio: ratio(r),
    })),
  );

  const module = new URL('./sync/worker.ts', import.meta.url);
  const workers = [new BenchWorker(module), new BenchWorker(module)];
  try {
    await Promise.all(workers.map((wk) => wk.next<string>(WORKER_TIMEOUT_MS))); // 'ready'

    const b = await contended(workers);
    console.log('(b) contended, 2 worker threads (ns per lock op, lower is better; counter verified exact)');
    console.table([
      {
        operation: b.operation,
        'shmkit ns/op': fixed(b.shmkit),
        'spin ns/op': fixed(b.spin),
        ratio: ratio(b),
        'shmkit total ms': fixed(b.shmkitTotalMs as number),
        'spin total ms': fixed(b.spinTotalMs as number),
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
        'shmkit main ops/s': fixed(r.shmkit, 0),
        'spin main ops/s': fixed(r.spin, 0),
        ratio: ratio(r),
        'shmkit worker ops/s': fixed(r.shmkitWorkerOpsPerSec as number, 0),
        'spin worker ops/s': fixed(r.spinWorkerOpsPerSec as number, 0),
      })),
    );

    const seconds = (performance.now() - t0) / 1000;
    console.log(`total ${fixed(seconds)} s; load average at the end ${loadAverage().join(' ')}`);
    const report = {
      schema: 'shmkit-bench-sync/1',
      date: new Date().toISOString(),
      quick: QUICK,
      machine: m,
      params: {
        reps: REPS,
        uncontendedPairs: N_UNCONTENDED,
        asyncUncontendedPairs: N_ASYNC_UNCONTENDED,
        contendedOpsPerWorker: N_CONTENDED,
        asyncRunMs: ASYNC_MS,
      },
      results: { uncontended: a, contended: [b], asyncHandOff: c },
      loadAverageAtEnd: loadAverage(),
      seconds,
    };
    console.log(`results written to ${writeJson('sync.json', report)}`);
  } finally {
    await Promise.all(workers.map((wk) => wk.terminate()));
  }
}

await main();
