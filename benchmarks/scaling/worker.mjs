// The worker of benchmarks/scaling.mjs (plain JavaScript: that benchmark runs with `node`, no
// loader, on many-core machines). workerData names the role; every worker waits for the shared
// `go` word, so all start together, then posts its result.
import { workerData as d, parentPort } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { Mutex } from '@shmkit/sync';

const WAIT = { timeout: 60_000 };
const go = new Int32Array(d.go);
// acquire: pairs with the main thread's store and notify of go.
Atomics.wait(go, 0, 0, 30_000);
if (d.role === 'mutex') {
  const m = Mutex.from(d.mutex);
  const c = new Int32Array(d.counter);
  for (let i = 0; i < d.n; i++) {
    m.lock(WAIT);
    c[0]++;
    m.unlock();
  }
  parentPort.postMessage(0);
} else if (d.role === 'produce') {
  const ch = Channel.from(d.ch);
  const m = new Uint8Array(64);
  for (let i = 0; i < d.n; i++) {
    m[0] = i & 255;
    ch.send(m, WAIT);
  }
  parentPort.postMessage(0);
} else {
  const ch = Channel.from(d.ch);
  let n = 0;
  let sum = 0;
  for (;;) {
    let v;
    try {
      v = ch.recv(WAIT);
    } catch (e) {
      if (e.code === 'CLOSED') break;
      throw e;
    }
    n++;
    sum += v[0];
  }
  parentPort.postMessage([n, sum]);
}
