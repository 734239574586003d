// Worker threads sharing a Mutex-guarded counter and a Channel: four workers each add 1,000 to a
// counter under the mutex and send their results to the main thread through one channel.
// Run it with `node examples/worker-threads.mjs`.
import { Worker } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { Mutex } from '@shmkit/sync';

const WORKERS = 4;
const ADDS = 1_000;

// The worker's code, inline so this example is one file (a real program would use a file path).
const workerCode = `
  const { workerData } = require('node:worker_threads');
  Promise.all([import('@shmkit/channel'), import('@shmkit/sync')]).then(([{ Channel }, { Mutex }]) => {
    const m = Mutex.from(workerData.mutex);
    const results = Channel.from(workerData.results);
    const counter = new Int32Array(workerData.counter);
    for (let i = 0; i < ${ADDS}; i++) m.withLock(() => { counter[0] = counter[0] + 1; });
    results.send({ worker: workerData.id, adds: ${ADDS} });
  });
`;

const mutex = new Mutex();
const results = new Channel({ codec: 'msgpack', producers: 'many' });
const counter = new SharedArrayBuffer(4);
const exits = [];
for (let id = 0; id < WORKERS; id++) {
  const w = new Worker(workerCode, {
    eval: true,
    workerData: { id, mutex: mutex.handle, results: results.handle, counter },
  });
  exits.push(new Promise((resolve, reject) => w.on('exit', resolve).on('error', reject)));
}
let adds = 0;
for (let i = 0; i < WORKERS; i++) adds += (await results.recvAsync({ timeout: 20_000 })).adds;
await Promise.all(exits);
const total = new Int32Array(counter)[0];
if (total !== WORKERS * ADDS || adds !== WORKERS * ADDS)
  throw new Error(`counter ${total}, reported ${adds}`);
console.log(`worker threads: ${WORKERS} workers, counter ${total}`);
