// Quick start: four worker threads bump one shared counter, first under a shmkit Mutex in a
// SharedArrayBuffer, then by sending each increment to the main thread with postMessage.
// Prints a table and writes reports/quickstart.json. Run it with `pnpm start`.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Mutex } from '@shmkit/sync';

const WORKERS = 4;
const PER_WORKER = 50_000;

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const mode = workerData.mode;
if (mode === 'mutex') {
  import('@shmkit/sync').then(({ Mutex }) => {
    const m = Mutex.from(workerData.mutex);
    const counter = new Int32Array(workerData.counter);
    for (let i = 0; i < workerData.n; i++) { m.lock(); counter[0]++; m.unlock(); }
    parentPort.postMessage('done');
  });
} else {
  for (let i = 0; i < workerData.n; i++) parentPort.postMessage(1);
  parentPort.postMessage('done');
}`;

function run(mode) {
  const m = new Mutex();
  const counter = new Int32Array(new SharedArrayBuffer(4));
  let viaMessages = 0;
  const start = process.hrtime.bigint();
  return Promise.all(
    Array.from({ length: WORKERS }, () => {
      const w = new Worker(workerSource, {
        eval: true,
        workerData: { mode, mutex: m.handle, counter: counter.buffer, n: PER_WORKER },
      });
      return new Promise((resolve, reject) => {
        w.on('message', (msg) => {
          if (msg === 'done') {
            void w.terminate();
            resolve();
          } else viaMessages += msg;
        });
        w.on('error', reject);
      });
    }),
  ).then(() => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const total = mode === 'mutex' ? counter[0] : viaMessages;
    return { mode, total, correct: total === WORKERS * PER_WORKER, seconds, opsPerSec: total / seconds };
  });
}

const results = [await run('mutex'), await run('postMessage')];
console.table(
  results.map((r) => ({
    backend: r.mode === 'mutex' ? 'shmkit Mutex (shared counter)' : 'postMessage (one message per increment)',
    increments: r.total,
    correct: r.correct,
    'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US'),
  })),
);
console.log(
  `shmkit Mutex / postMessage throughput: ${(results[0].opsPerSec / results[1].opsPerSec).toFixed(1)}x`,
);
mkdirSync('reports', { recursive: true });
const report = {
  schema: 'shmkit-quickstart/1',
  machine: {
    cpus: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    kernel: os.release(),
  },
  results,
};
writeFileSync('reports/quickstart.json', `${JSON.stringify(report, null, 2)}\n`);
console.log('report written to reports/quickstart.json');
if (!results.every((r) => r.correct)) process.exit(1);
