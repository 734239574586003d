// The other thread of benchmarks/ring-buffer.ts. Jobs arrive by message: attach the ring with the
// named implementation, say READY, spin until GO, produce or consume, store DONE. Failures go back
// through the control block, since the main thread may be blocked in a wait.
import { parentPort } from 'node:worker_threads';
import { DONE, GO, READY, reportError, SUM, spinFor } from './control.mjs';

/** Per implementation: its RingBuffer class and its own copy of the loops (see loops.mjs). */
const loaded = new Map();

async function load(impl) {
  let m = loaded.get(impl.name);
  if (m === undefined) {
    const [mod, loops] = await Promise.all([
      import(impl.url),
      import(new URL(`./loops.mjs?impl=${encodeURIComponent(impl.name)}`, import.meta.url).href),
    ]);
    m = { RingBuffer: mod.RingBuffer, loops };
    loaded.set(impl.name, m);
  }
  return m;
}

parentPort.on('message', async (job) => {
  const ctl = job.ctl;
  try {
    const { RingBuffer, loops } = await load(job.impl);
    const rb = new RingBuffer(job.sab, Float32Array);
    Atomics.add(ctl, READY, 1);
    Atomics.notify(ctl, READY);
    spinFor(ctl, GO, job.timeoutMs);
    const deadline = performance.now() + job.timeoutMs;
    if (job.role === 'produce') loops.produce(rb, job.n, job.chunk, deadline);
    else new Float64Array(ctl.buffer)[SUM] = loops.consume(rb, job.n, job.chunk, deadline);
  } catch (e) {
    reportError(ctl, e);
  }
  // release: the sum (and any error text) is visible to the main thread's load of DONE.
  Atomics.store(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
});
parentPort.postMessage('ready');
