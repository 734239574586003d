/**
 * Scenario 3: 1 MiB payloads, worker -> main: Channel zero copy (claim -> fill -> publish / peek ->
 * verify -> release, 4 MiB ring) vs postMessage with a transfer list (a fresh ArrayBuffer per
 * message, filled, moved); the Channel copying path (send / recv) for information.
 */
import { Channel } from '@shmkit/channel';
import { alternate, fixed } from '../lib/harness.js';
import type { BenchWorker } from '../lib/worker.js';
import { checkBig, expectedBigSum } from './messages.js';
import { BIG, BIG_CAPACITY, BIG_WINDOW, N_BIG, REPS, scaled, WAIT } from './protocol.js';
import { printTargets, printThroughput, rateTarget, throughput } from './report.js';
import { type Plan, type Run, runRound } from './rounds.js';

type BigBackend = 'channel zero-copy' | 'postMessage transfer' | 'channel copy';

const words = (v: Uint8Array): Int32Array => new Int32Array(v.buffer, v.byteOffset, v.length >> 2);

function recvBigClaim(ch: Channel<Uint8Array>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) {
    sum += checkBig(words(ch.peek(WAIT)), c);
    ch.release();
  }
  return sum;
}

function recvBigCopy(ch: Channel<Uint8Array>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) sum += checkBig(words(ch.recv(WAIT)), c);
  return sum;
}

function plan(k: BigBackend, n: number): Plan<ArrayBuffer> {
  if (k === 'postMessage transfer') {
    return {
      job: { kind: 'big-post', n, size: BIG, window: BIG_WINDOW },
      onMessage: (ab, c) => checkBig(new Int32Array(ab), c),
    };
  }
  const ch = new Channel<Uint8Array>({ capacity: BIG_CAPACITY });
  const zero = k === 'channel zero-copy';
  return {
    job: { kind: zero ? 'big-claim' : 'big-copy', handle: ch.handle, n, size: BIG },
    consume: () => (zero ? recvBigClaim(ch, n) : recvBigCopy(ch, n)),
  };
}

function round(wk: BenchWorker, k: BigBackend, warm: boolean): Promise<Run> {
  const n = scaled(N_BIG, warm);
  return runRound(wk, n, plan(k, n), `1 MiB ${k}`, expectedBigSum(n));
}

export async function bigPayloads(wk: BenchWorker) {
  const s = await alternate<BigBackend, Run>(
    REPS,
    ['channel zero-copy', 'postMessage transfer', 'channel copy'],
    (k, warm) => round(wk, k, warm),
  );
  const rows = [
    throughput('Channel claim/publish, peek/release', s['channel zero-copy'], BIG),
    throughput('postMessage transfer (fresh buffer)', s['postMessage transfer'], BIG),
    throughput('Channel send/recv (copies; info)', s['channel copy'], BIG),
  ] as const;
  console.log(
    `3. throughput, ${N_BIG.toLocaleString('en-US')} x 1 MiB payloads (each filled completely), worker -> main`,
  );
  printThroughput(rows, 'msgs', 'GB/s');
  printTargets([rateTarget('3', 'Channel zero-copy / postMessage transfer (msgs/s)', rows[0], rows[1], 1)]);
  console.log(`   (info) Channel copy / postMessage transfer: ${fixed(rows[2].perSec / rows[1].perSec, 2)}x`);
  return rows;
}
