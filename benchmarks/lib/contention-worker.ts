/** A producer or consumer of benchmarks/contention.ts, in a worker thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { Channel, type ChannelHandle } from '@shmkit/channel';

const d = workerData as {
  role: 'send' | 'recv';
  batch: boolean;
  many: boolean;
  n: number;
  ch: ChannelHandle;
  go: SharedArrayBuffer;
};
const ch = Channel.from(d.ch);
const go = new Int32Array(d.go);
warmUp();
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

/**
 * Runs this thread's send and receive paths on a private channel of the same mode before the
 * clock starts: every worker is its own V8 isolate and compiles the channel code itself, so
 * without this 8 workers pay 8 warm-ups inside the timed run (at 400k messages that was about
 * half of the 4x4 shapes' CPU time).
 */
function warmUp(): void {
  const mode = d.many ? 'many' : 'one';
  const own = new Channel({ capacity: 1 << 16, producers: mode, consumers: mode });
  const pool = Array.from({ length: 64 }, () => new Uint8Array(64));
  for (let round = 0; round < 2000; round++) {
    if (d.batch) {
      own.sendMany(pool);
      own.recvMany(64);
    } else {
      for (let i = 0; i < 64; i++) own.send(pool[i]!);
      for (let i = 0; i < 64; i++) own.recv();
    }
  }
}
