// How the Mutex and Channel scale with threads: run on a machine with more cores than this 2-core
// VM (e.g. 16) to see contention behaviour past 2 cores. Plain JavaScript (no loader), bounded;
// the workers are scaling/worker.mjs.
//   node benchmarks/scaling.mjs [--quick] [--save]     (after `pnpm install`, which builds dist/)
// Prints one table per experiment and writes reports/scaling-<cores>cores.json
// (benchmarks/results/ with --save).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { Mutex } from '@shmkit/sync';

const QUICK = process.argv.includes('--quick');
const cores = os.availableParallelism?.() ?? os.cpus().length;
const counts = [1, 2, 4, 8, 16].filter((n) => n <= Math.max(2, cores));
const WORKER = new URL('./scaling/worker.mjs', import.meta.url);

/**
 * Starts one worker per job, releases them together, and returns the time until `finish` (given
 * each worker's result promise; default: all of them) settles, bounded.
 */
function run(jobs, finish = (results) => Promise.all(results)) {
  const go = new Int32Array(new SharedArrayBuffer(4));
  const ws = jobs.map((j) => new Worker(WORKER, { workerData: { ...j, go: go.buffer } }));
  const results = ws.map(
    (w) =>
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  return new Promise((r) => setTimeout(r, 300)).then(async () => {
    const t0 = performance.now();
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    let timer;
    const out = await Promise.race([
      finish(results),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), 120_000);
      }),
    ]).finally(() => clearTimeout(timer));
    const ms = performance.now() - t0;
    await Promise.all(ws.map((w) => w.terminate()));
    return { ms, out };
  });
}

const report = {
  machine: { cpu: os.cpus()[0]?.model, cores, node: process.version, kernel: os.release() },
  mutex: [],
  channel: [],
};
console.log(`machine: ${report.machine.cpu}, ${cores} cores, Node ${process.version}`);

const perThread = QUICK ? 50_000 : 200_000;
for (const w of counts) {
  const m = new Mutex();
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const { ms } = await run(
    Array.from({ length: w }, () => ({
      role: 'mutex',
      mutex: m.handle,
      counter: counter.buffer,
      n: perThread,
    })),
  );
  const ops = w * perThread;
  report.mutex.push({
    threads: w,
    opsPerSec: Math.round(ops / (ms / 1000)),
    nsPerOp: +((ms * 1e6) / ops).toFixed(1),
    exact: counter[0] === ops,
  });
}
console.log('Mutex: W threads each lock / increment / unlock one shared counter');
console.table(report.mutex);

const perProducer = QUICK ? 100_000 : 400_000;
const shapes = [[1, 1, 'one', 'one']];
for (const n of counts.filter((c) => c >= 2 && c * 2 <= Math.max(4, cores)))
  shapes.push([n, n, 'many', 'many']);
if (cores >= 4) shapes.push([Math.min(8, cores - 1), 1, 'many', 'one']);
for (const [p, c, pm, cm] of shapes) {
  const ch = new Channel({ capacity: 1 << 16, producers: pm, consumers: cm });
  const producers = Array.from({ length: p }, () => ({ role: 'produce', ch: ch.handle, n: perProducer }));
  const consumers = Array.from({ length: c }, () => ({ role: 'consume', ch: ch.handle }));
  const { ms, out: got } = await run([...producers, ...consumers], async (results) => {
    await Promise.all(results.slice(0, p));
    ch.close();
    return Promise.all(results.slice(p));
  });
  const total = got.reduce((a, [n]) => a + n, 0);
  report.channel.push({
    shape: `${p}P x ${c}C (${pm}/${cm})`,
    msgsPerSec: Math.round(total / (ms / 1000)),
    delivered: total,
    exact: total === p * perProducer,
  });
}
console.log('Channel: 64-byte messages, P producer threads -> C consumer threads');
console.table(report.channel);
// reports/ unless --save (results meant for publishing go to benchmarks/results/).
const dir = process.argv.includes('--save') ? 'benchmarks/results' : 'reports';
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}/scaling-${cores}cores.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written to ${dir}/scaling-${cores}cores.json`);
