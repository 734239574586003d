// Worker thread of benchmarks/nats-tunnel.ts: sends `n` stamped messages of `size` bytes into a
// local Channel (the tunnel's source), then closes it. The stamp is the message's sequence number
// in its first 4 bytes, which the receiving process checks. Plain JavaScript, started without a
// loader: the tunnel variant counts this process's CPU time from before the worker starts, and a
// TypeScript loader's start-up would be charged to the tunnel.
import { parentPort, workerData } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';

const { handle, n, size } = workerData;
const ch = Channel.from(handle);
const m = new Uint8Array(size).fill(0x5a);
const dv = new DataView(m.buffer);
for (let i = 0; i < n; i++) {
  dv.setUint32(0, i, true);
  ch.send(m, { timeout: 60_000 });
}
ch.close();
parentPort.postMessage('sent');
