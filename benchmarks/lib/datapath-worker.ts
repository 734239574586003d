/**
 * The producer side of benchmarks/datapath.ts, in a worker thread. workerData names the job; the
 * worker says it is ready in ctl[READY], waits for ctl[GO], runs, and posts 'done' (or an error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import * as P from './datapath-protocol.js';

type Job = P.Job;
// The control words and the plain ring's layout, shared with benchmarks/datapath.ts.
const { ACK, GO, READY, RING_HEAD, RING_SLOTS, RING_SLOTS_AT, RING_TAIL, SLOT_WORDS } = P;

const WAIT = { timeout: 60_000 };

function run(d: Job): void {
  const ctl = new Int32Array(d.ctl);
  const n = d.n;
  const ch = d.channel === undefined ? undefined : Channel.from(d.channel);
  Atomics.store(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  // acquire: pairs with the main thread's store of GO.
  while (Atomics.load(ctl, GO) === 0) Atomics.wait(ctl, GO, 0, 60_000);
  switch (d.job) {
    case 'sab-ring': {
      const r = new Int32Array(d.ring!);
      let head = Atomics.load(r, RING_HEAD);
      for (let i = 0; i < n; i++) {
        // Full: re-read the consumer's head (acquire) until a slot is free.
        while (i - head >= RING_SLOTS) head = Atomics.load(r, RING_HEAD);
        const at = RING_SLOTS_AT + (i % RING_SLOTS) * SLOT_WORDS;
        r[at] = i;
        for (let k = 1; k < SLOT_WORDS; k++) r[at + k] = k;
        // release: publishes the slot.
        Atomics.store(r, RING_TAIL, i + 1);
      }
      break;
    }
    case 'send': {
      const m = new Uint8Array(d.size);
      const v = new DataView(m.buffer);
      for (let i = 0; i < n; i++) {
        v.setInt32(0, i, true);
        ch!.send(m, WAIT);
      }
      break;
    }
    case 'send-many': {
      const B = 64;
      const pool = Array.from({ length: B }, () => new Uint8Array(d.size));
      const views = pool.map((m) => new DataView(m.buffer));
      const batch: Uint8Array[] = [];
      for (let i = 0; i < n; ) {
        batch.length = 0;
        for (let k = 0; k < B && i < n; k++, i++) {
          views[k]!.setInt32(0, i, true);
          batch.push(pool[k]!);
        }
        ch!.sendMany(batch, WAIT);
      }
      break;
    }
    case 'post-transfer':
    case 'post-copy': {
      const w = d.window ?? 8;
      const reused = new Uint8Array(d.size);
      for (let i = 0; i < n; i++) {
        // Flow control: at most `w` messages in flight (the main thread counts what it got in ACK).
        while (i - Atomics.load(ctl, ACK) >= w) Atomics.wait(ctl, ACK, Atomics.load(ctl, ACK), 1000);
        if (d.job === 'post-transfer') {
          const ab = new ArrayBuffer(d.size);
          new Int32Array(ab, 0, 1)[0] = i;
          parentPort!.postMessage(ab, [ab]);
        } else {
          new DataView(reused.buffer).setInt32(0, i, true);
          parentPort!.postMessage(reused);
        }
      }
      break;
    }
    case 'echo': {
      const pong = Channel.from(d.pong!);
      for (let i = 0; i < n; i++) pong.send(ch!.recv(WAIT), WAIT);
      break;
    }
  }
  parentPort!.postMessage('done');
}

try {
  run(workerData as Job);
} catch (e) {
  parentPort!.postMessage({ error: String(e) });
}
