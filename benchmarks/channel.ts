/**
 * What @shmkit/channel's Channel delivers, measured side by side in one run with what Node offers
 * without shmkit (worker postMessage) and with the cheapest shared-memory code one can write by
 * hand (a minimal SPSC ring, the JavaScript limit). RingBuffer against ringbuf.js is
 * benchmarks/ring-buffer.ts (`bench:ringbuf`).
 *
 * Run: `npx tsx benchmarks/channel.ts [--quick] [--only=1,4] [--save]` (or `npm run bench:channel`,
 * which builds first; the benchmark reads packages/channel/dist). Prints one table per scenario
 * with its ratios, their targets and whether each was met, then a summary; writes
 * reports/channel.json, or benchmarks/results/channel.json with --save (every run's numbers, the
 * ratios per rep, the machine).
 *
 * The scenarios, one file each under benchmarks/channel/:
 * 1. small.ts       throughput, 64-byte Uint8Arrays: Channel vs postMessage vs a minimal SAB ring
 * 2. objects.ts     ~100-byte objects: Channel with the msgpack codec vs postMessage
 * 3. big.ts         1 MiB payloads: Channel zero copy vs postMessage with a transfer list
 * 4. round-trip.ts  ping-pong latency: Channel blocking and async vs postMessage both ways
 * The worker (the producer, or the echo) is channel/worker.ts; messages.ts makes and checks the
 * messages, rounds.ts runs a round, report.ts prints the tables and targets.
 *
 * Why it is built this way:
 * - The machine is shared and noisy (docs/architecture.md, "Benchmarks"; lib/harness.ts): every
 *   backend of a scenario runs in the same process, rep by rep, alternating the order (A B C,
 *   C B A, ...); each number is the median of REPS reps, after a warm-up run of every backend.
 * - Every delivered message is verified on the receiving side (count, order, checksum).
 * - postMessage gets a bounded window of messages in flight (the main thread acknowledges each
 *   message with one Atomics.store; the worker spins when the window is full). Without it the
 *   worker floods an unbounded queue (a million messages of memory); the window is larger than
 *   what the Channel's ring holds, so it does not hold postMessage back. A Channel's memory is
 *   bounded by its ring.
 * - One worker serves every round; a round starts on a shared GO word the worker spins on.
 * - Two threads that spin need both cores: when other processes run, a spinning pair degrades
 *   far more than postMessage. The run first samples how busy the machine is (500 ms) and says
 *   so; per-rep ratios (min..max) show how much the reps disagreed.
 * - Every wait is bounded: Channel calls carry a timeout, hand-written spin loops check a
 *   deadline, postMessage rounds have a timer; a bug fails the run with a message, not a hang.
 */
import { bigPayloads } from './channel/big.js';
import { objects } from './channel/objects.js';
import * as P from './channel/protocol.js';
import { bound, targets } from './channel/report.js';
import { roundTrip } from './channel/round-trip.js';
import { smallMessages } from './channel/small.js';
import { argValue, busyElsewhere, fixed, loadAverage, machine, QUICK, writeJson } from './lib/harness.js';
import { BenchWorker } from './lib/worker.js';

const SCENARIOS: [number, string, (wk: BenchWorker) => Promise<unknown>][] = [
  [1, 'smallBytes', smallMessages],
  [2, 'objects', objects],
  [3, 'bigPayloads', bigPayloads],
  [4, 'roundTrip', roundTrip],
];
/** `--only=1,4`: run only these scenarios (for investigations; the results file then lacks the rest). */
const ONLY = new Set((argValue('only') ?? '1,2,3,4').split(',').map(Number));
for (const id of ONLY) {
  if (!SCENARIOS.some(([n]) => n === id)) {
    throw new Error(`--only: no scenario ${id} (1-4; RingBuffer is benchmarks/ring-buffer.ts)`);
  }
}

async function main(): Promise<void> {
  const m = {
    ...machine(),
    loadAverageAtStart: loadAverage(),
    /** CPU busy with other processes in the 500 ms before the run (this process idle). */
    busyElsewhereAtStart: Math.round((await busyElsewhere(500)) * 1000) / 1000,
  };
  console.log(`shmkit channel benchmark${QUICK ? ' (--quick)' : ''}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.kernel} ${m.arch}`);
  console.log(
    `other processes at start: ${fixed(m.busyElsewhereAtStart * 100, 0)}% of the CPU time ` +
      `(load average ${m.loadAverageAtStart.map((x) => fixed(x, 2)).join(' ')})`,
  );
  if (m.busyElsewhereAtStart > 0.1) {
    console.log(
      `  warning: other processes are busy on this machine; spinning backends lose most when the two ` +
        `threads of a pair cannot both run, so compare ratios only with a quiet machine`,
    );
  }
  console.log(`median of ${P.REPS} reps after a warm-up, backends alternating; every message verified\n`);
  const t0 = performance.now();

  const wk = new BenchWorker(new URL('./channel/worker.ts', import.meta.url));
  try {
    await wk.next(P.WAIT_MS); // 'ready'
    const results: Record<string, unknown> = {};
    for (const [id, name, run] of SCENARIOS) {
      if (!ONLY.has(id)) continue;
      results[name] = await run(wk);
      console.log();
    }

    const seconds = (performance.now() - t0) / 1000;
    const met = targets.filter((t) => t.met).length;
    console.log(`summary: ${met} of ${targets.length} targets met; total ${fixed(seconds)} s`);
    for (const t of targets.filter((x) => !x.met)) {
      console.log(`  missed: ${t.ratio} = ${fixed(t.value, 2)}x (target ${bound(t)})`);
    }

    const report = {
      schema: 'shmkit-bench-channel/1',
      date: new Date().toISOString(),
      quick: QUICK,
      scenarios: [...ONLY],
      machine: m,
      params: {
        reps: P.REPS,
        warmFraction: P.WARM_FRACTION,
        smallMessages: P.N_BYTES,
        smallBytes: P.SMALL,
        smallCapacity: P.SMALL_CAPACITY,
        smallWindow: P.SMALL_WINDOW,
        objects: P.N_OBJECTS,
        objectWindow: P.OBJECT_WINDOW,
        bigMessages: P.N_BIG,
        bigBytes: P.BIG,
        bigCapacity: P.BIG_CAPACITY,
        bigWindow: P.BIG_WINDOW,
        roundTrips: P.N_RTT,
        histogram: 'hdr-histogram-js, ns, 3 significant digits',
      },
      results,
      targets,
      loadAverageAtEnd: loadAverage(),
      seconds,
    };
    console.log(`results written to ${writeJson('channel.json', report)}`);
  } finally {
    await wk.terminate();
  }
}

await main();
