/**
 * The worker of benchmarks/struct.ts: runs one job per message from the main thread, then posts
 * `{ done: true }` (or `{ error }`). It posts `{ ready: true }` once, first.
 */
import { parentPort } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { channelCodec, type StructJob } from './jobs.js';
import { makeOrder } from './order.js';
import { pingPong } from './ping-pong.js';

const DEADLINE_MS = 60_000;
/** postMessage: messages in flight at most (the main thread stores how many it has checked). */
const WINDOW = 4096;

function post(n: number, ack: SharedArrayBuffer): void {
  const a = new Int32Array(ack);
  const end = performance.now() + DEADLINE_MS;
  for (let i = 0; i < n; i++) {
    // acquire: pairs with the main thread's store of the count it has checked.
    for (let k = 0; i - Atomics.load(a, 0) >= WINDOW; k++) {
      if ((k & 0xffff) === 0 && performance.now() > end) throw new Error('worker: postMessage window full');
    }
    parentPort!.postMessage(makeOrder(i));
  }
}

function run(job: StructJob): void {
  if (job.kind === 'postmessage') post(job.n, job.ack);
  else if (job.kind === 'channel') {
    const c = channelCodec(job.codec);
    // 'msgpack' is the handle's own codec; a Codec object must be given again on this side.
    const ch = Channel.from<unknown>(job.handle, typeof c === 'string' ? undefined : { codec: c as never });
    for (let i = 0; i < job.n; i++) ch.send(makeOrder(i), { timeout: DEADLINE_MS });
  } else pingPong[job.kind](job.sab, job.n, false, performance.now() + DEADLINE_MS);
}

parentPort!.on('message', (job: StructJob) => {
  try {
    run(job);
    parentPort!.postMessage({ done: true });
  } catch (e) {
    parentPort!.postMessage({ error: String((e as Error | undefined)?.stack ?? e) });
  }
});
parentPort!.postMessage({ ready: true });
