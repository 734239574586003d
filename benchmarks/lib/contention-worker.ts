/** A producer or consumer of benchmarks/contention.ts, in a worker thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { Channel, type ChannelHandle } from '@shmkit/channel';

const d = workerData as {
  role: 'send' | 'recv';
  batch: boolean;
  n: number;
  ch: ChannelHandle;
  go: SharedArrayBuffer;
};
const ch = Channel.from(d.ch);
const go = new Int32Array(d.go);
Atomics.add(go, 1, 1);
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0, 1000);
const WAIT = { timeout: 60_000 };
let got = 0;
if (d.role === 'send') {
  const pool = Array.from({ length: 64 }, () => new Uint8Array(64));
  for (let i = 0; i < d.n; ) {
    if (d.batch) {
      const k = Math.min(64, d.n - i);
      ch.sendMany(k === 64 ? pool : pool.slice(0, k), WAIT);
      i += k;
    } else {
      ch.send(pool[0]!, WAIT);
      i++;
    }
  }
} else {
  try {
    for (;;) {
      if (d.batch) got += ch.recvMany(64, WAIT).length;
      else {
        ch.recv(WAIT);
        got++;
      }
    }
  } catch (e) {
    if ((e as { code?: string }).code !== 'CLOSED') throw e;
  }
}
parentPort!.postMessage(got);
