/** Scenario 2: ~100-byte objects, worker -> main: Channel with the msgpack codec vs postMessage. */
import { Channel } from '@shmkit/channel';
import { alternate } from '../lib/harness.js';
import type { BenchWorker } from '../lib/worker.js';
import { checkObj, msgpackSize, type Obj } from './messages.js';
import { N_OBJECTS, OBJECT_WINDOW, REPS, SMALL_CAPACITY, scaled, WAIT } from './protocol.js';
import { printTargets, printThroughput, rateTarget, throughput } from './report.js';
import { type Plan, type Run, runRound } from './rounds.js';

type ObjBackend = 'channel' | 'postMessage';

function recvObjChannel(ch: Channel<Obj>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) sum += checkObj(ch.recv(WAIT), c);
  return sum;
}

function plan(k: ObjBackend, n: number): Plan<Obj> {
  if (k === 'postMessage')
    return { job: { kind: 'obj-post', n, window: OBJECT_WINDOW }, onMessage: checkObj };
  const ch = new Channel<Obj>({ capacity: SMALL_CAPACITY, codec: 'msgpack' });
  return { job: { kind: 'obj-channel', handle: ch.handle, n }, consume: () => recvObjChannel(ch, n) };
}

function round(wk: BenchWorker, k: ObjBackend, warm: boolean): Promise<Run> {
  const n = scaled(N_OBJECTS, warm);
  return runRound(wk, n, plan(k, n), `objects ${k}`, (n * (n - 1)) / 2);
}

export async function objects(wk: BenchWorker) {
  const s = await alternate<ObjBackend, Run>(REPS, ['channel', 'postMessage'], (k, warm) =>
    round(wk, k, warm),
  );
  const bytes = msgpackSize();
  const rows = [
    throughput('Channel (msgpack)', s.channel, bytes),
    throughput('postMessage (clone)', s.postMessage, bytes),
  ] as const;
  console.log(
    `2. throughput, ${N_OBJECTS.toLocaleString('en-US')} objects {id, name, tags[4], score, ts} ` +
      `(${bytes} bytes as msgpack), worker -> main`,
  );
  printThroughput(rows, 'msgs', 'MB/s');
  printTargets([rateTarget('2', 'Channel msgpack / postMessage (msgs/s)', rows[0], rows[1], 3)]);
  return { msgpackBytes: bytes, rows };
}
