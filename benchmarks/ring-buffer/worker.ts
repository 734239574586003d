/**
 * The other thread of benchmarks/ring-buffer.ts. Jobs arrive by message: attach the ring with the
 * named implementation, say READY, spin until GO, produce or consume, store DONE. Failures go back
 * through the control block (lib/control.ts), since the main thread may be blocked in a wait.
 */
import { parentPort } from 'node:worker_threads';
import { finish, GO, READY, reportError, SUM, signal, spinFor } from '../lib/control.js';
import { type Impl, load } from './impls.js';

export interface RingJob {
  ctl: Int32Array;
  sab: SharedArrayBuffer;
  impl: Impl;
  role: 'produce' | 'consume';
  n: number;
  chunk: number;
  timeoutMs: number;
}

const port = parentPort!;

port.on('message', async (job: RingJob) => {
  const ctl = job.ctl;
  try {
    const { RingBuffer, loops } = await load(job.impl);
    const rb = new RingBuffer(job.sab, Float32Array);
    signal(ctl, READY);
    spinFor(ctl, GO, job.timeoutMs);
    const deadline = performance.now() + job.timeoutMs;
    if (job.role === 'produce') loops.produce(rb, job.n, job.chunk, deadline);
    else new Float64Array(ctl.buffer)[SUM] = loops.consume(rb, job.n, job.chunk, deadline);
  } catch (e) {
    reportError(ctl, e);
  }
  finish(ctl);
});
port.postMessage('ready');
