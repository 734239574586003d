// Worker of benchmarks/struct.ts: runs one job per message from the main thread, then posts 'done'.
// Plain JavaScript importing the built packages, so the hot loops run exactly as users' code would.
import { parentPort } from 'node:worker_threads';
import { Channel, msgpackCodec } from '@shmkit/channel';
import { makeOrder, Order, Ping, PingInt } from './struct-order.mjs';

const DEADLINE_MS = 60_000;
const WINDOW = 4096;

function spinUntil(cond, what) {
  const end = performance.now() + DEADLINE_MS;
  for (let k = 0; !cond(); k++) {
    if ((k & 0xffff) === 0 && performance.now() > end) throw new Error(`worker: ${what} timed out`);
  }
}

const jobs = {
  postmessage({ n, ack }) {
    const a = new Int32Array(ack);
    for (let i = 0; i < n; i++) {
      // A bounded window in flight (the main thread stores how many it has checked).
      if (i - Atomics.load(a, 0) >= WINDOW)
        spinUntil(() => i - Atomics.load(a, 0) < WINDOW, 'postMessage window');
      parentPort.postMessage(makeOrder(i));
    }
  },
  channel({ n, handle, codec }) {
    const c = codec === 'struct' ? Order.codec : codec === 'msgpack-plain' ? msgpackCodec() : undefined;
    const ch = Channel.from(handle, c === undefined ? undefined : { codec: c });
    for (let i = 0; i < n; i++) ch.send(makeOrder(i), { timeout: DEADLINE_MS });
  },
  // Ping-pong: wait for the main thread's value i in `ping`, answer with i in `pong`.
  raw({ n, sab }) {
    const f64 = new Float64Array(sab);
    const i32 = new Int32Array(sab);
    const probe = new Float64Array(1);
    const hi = new Int32Array(probe.buffer);
    for (let i = 1; i <= n; i++) {
      probe[0] = i;
      const want = hi[1];
      // The high word of the f64 the main thread stored (integers < 2^20 differ in it).
      const end = performance.now() + DEADLINE_MS;
      for (let k = 0; Atomics.load(i32, 1) !== want; k++)
        if ((k & 0xffff) === 0 && performance.now() > end) throw new Error('raw ping');
      f64[16] = i;
    }
  },
  view({ n, sab }) {
    const v = Ping.view(sab);
    for (let i = 1; i <= n; i++) {
      const end = performance.now() + DEADLINE_MS;
      for (let k = 0; v.ping !== i; k++)
        if ((k & 0xffff) === 0 && performance.now() > end) throw new Error('view ping');
      v.pong = i;
    }
  },
  atomic({ n, sab }) {
    const v = PingInt.view(sab);
    for (let i = 1; i <= n; i++) {
      const end = performance.now() + DEADLINE_MS;
      for (let k = 0; PingInt.atomic.load(v, 'ping') !== i; k++)
        if ((k & 0xffff) === 0 && performance.now() > end) throw new Error('atomic ping');
      PingInt.atomic.store(v, 'pong', i);
    }
  },
};

parentPort.on('message', (job) => {
  try {
    jobs[job.kind](job);
    parentPort.postMessage({ done: true });
  } catch (e) {
    parentPort.postMessage({ error: String(e?.stack ?? e) });
  }
});
parentPort.postMessage({ ready: true });
