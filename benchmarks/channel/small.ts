/**
 * Scenario 1: throughput of 64-byte Uint8Array messages, worker -> main thread:
 * (a) Channel (bytes codec, one producer / one consumer, 1 MiB ring; main: blocking recv loop),
 * (b) postMessage of the same Uint8Array (structured clone, not transfer), 'message' events,
 * (c) a minimal hand-written ring (see recvSmallRing): the JavaScript limit.
 */
import { Channel } from '@shmkit/channel';
import { alternate, fixed } from '../lib/harness.js';
import type { BenchWorker } from '../lib/worker.js';
import { checkSmall, expectedSmallSum } from './messages.js';
import {
  N_BYTES,
  REPS,
  RING_DATA,
  RING_HEAD,
  RING_TAIL,
  SMALL,
  SMALL_CAPACITY,
  SMALL_WINDOW,
  scaled,
  WAIT,
  WAIT_MS,
} from './protocol.js';
import { printTargets, printThroughput, rateTarget, throughput } from './report.js';
import { type Plan, type Run, runRound } from './rounds.js';

type SmallBackend = 'channel' | 'postMessage' | 'ring';

function recvSmallChannel(ch: Channel<Uint8Array>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) sum += checkSmall(ch.recv(WAIT), c);
  return sum;
}

/**
 * The consumer of the minimal ring: 64-byte slots, head and tail on separate 128-byte lines, each
 * side caches the other's index, spins on full / empty, never sleeps, no framing, no checks. It
 * copies each message out (`slice`), as Channel.recv does: both give the receiver a Uint8Array it
 * owns, so the ratio compares like with like.
 */
function recvSmallRing(sab: SharedArrayBuffer, n: number, slots: number): number {
  const i32 = new Int32Array(sab, 0, RING_DATA / 4);
  const u8 = new Uint8Array(sab, RING_DATA, slots * SMALL);
  const mask = slots - 1;
  const deadline = performance.now() + WAIT_MS;
  let head = 0;
  let tail = 0;
  let sum = 0;
  for (let c = 0; c < n; c++) {
    if (head === tail) {
      let s = 0;
      for (;;) {
        // acquire: pairs with the producer's store of tail; the slots before it are written.
        tail = Atomics.load(i32, RING_TAIL);
        if (tail !== head) break;
        if ((++s & 0xffff) === 0 && performance.now() > deadline)
          throw new Error('main: ring empty for too long');
      }
    }
    const off = (head & mask) * SMALL;
    const m = u8.slice(off, off + SMALL);
    head++;
    // release: the slot copied above may be overwritten once the producer loads head.
    Atomics.store(i32, RING_HEAD, head);
    sum += checkSmall(m, c);
  }
  return sum;
}

function plan(k: SmallBackend, n: number): Plan<Uint8Array> {
  if (k === 'channel') {
    const ch = new Channel<Uint8Array>({ capacity: SMALL_CAPACITY });
    return {
      job: { kind: 'bytes-channel', handle: ch.handle, n, size: SMALL },
      consume: () => recvSmallChannel(ch, n),
    };
  }
  if (k === 'ring') {
    const slots = SMALL_CAPACITY / SMALL;
    const sab = new SharedArrayBuffer(RING_DATA + SMALL_CAPACITY);
    return {
      job: { kind: 'bytes-ring', sab, n, size: SMALL, slots },
      consume: () => recvSmallRing(sab, n, slots),
    };
  }
  return { job: { kind: 'bytes-post', n, size: SMALL, window: SMALL_WINDOW }, onMessage: checkSmall };
}

function round(wk: BenchWorker, k: SmallBackend, warm: boolean): Promise<Run> {
  const n = scaled(N_BYTES, warm);
  return runRound(wk, n, plan(k, n), `64-byte ${k}`, expectedSmallSum(n));
}

export async function smallMessages(wk: BenchWorker) {
  const s = await alternate<SmallBackend, Run>(REPS, ['channel', 'postMessage', 'ring'], (k, warm) =>
    round(wk, k, warm),
  );
  const rows = [
    throughput('Channel (bytes, recv)', s.channel, SMALL),
    throughput('postMessage (clone)', s.postMessage, SMALL),
    throughput('minimal SAB ring', s.ring, SMALL),
  ] as const;
  console.log(`1. throughput, ${N_BYTES.toLocaleString('en-US')} x 64-byte Uint8Array, worker -> main`);
  printThroughput(rows, 'msgs', 'MB/s');
  printTargets([
    rateTarget('1', 'Channel / postMessage (msgs/s)', rows[0], rows[1], 20),
    rateTarget('1', 'Channel / minimal ring (msgs/s)', rows[0], rows[2], 0.5),
  ]);
  console.log(
    `   (info) the JavaScript limit: minimal ring / postMessage = ${fixed(rows[2].perSec / rows[1].perSec, 2)}x`,
  );
  return rows;
}
