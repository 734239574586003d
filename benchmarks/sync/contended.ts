/**
 * (b) and (c) of benchmarks/sync.ts, with worker threads (sync/worker.ts):
 * (b) contended: two workers each do N lock / non-atomic increment / unlock of one shared counter;
 *     wall time from a common start to the last finisher, ns per lock op = wall / 2N. The counter
 *     must come out exactly 2N (the increment is deliberately not atomic).
 * (c) async hand-off: the main thread takes the lock with `await` while one worker takes it with
 *     blocking calls in a tight loop, for a fixed time; ops/s of each side.
 */
import { Region } from '@shmkit/core';
import { Mutex } from '@shmkit/sync';
import { GO, newControl, READY, waitFor } from '../lib/control.js';
import { alternate, median, QUICK } from '../lib/harness.js';
import type { BenchWorker } from '../lib/worker.js';
import {
  COUNTER_AT,
  type ContendedResult,
  type Kind,
  LOCK_AT,
  now,
  type PartnerResult,
  SHARED_BYTES,
  STOP,
  type SyncJob,
  WORKER_TIMEOUT_MS,
} from './protocol.js';
import { REPS, type Row } from './row.js';
import { spinLockAsync, spinLockAsyncYielding, spinUnlock } from './spin-lock.js';

/** (b) lock/increment/unlock ops per worker per timed run. */
export const N_CONTENDED = QUICK ? 50_000 : 2_000_000;
/** (c) milliseconds per timed run. */
export const ASYNC_MS = QUICK ? 60 : 500;

/** A fresh buffer with the (b)/(c) layout (for 'mutex', a Mutex at LOCK_AT) and control block. */
function freshShared(kind: Kind) {
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const mutex = kind === 'mutex' ? new Mutex({ region: new Region(shared, LOCK_AT, Mutex.SIZE) }) : undefined;
  const ctl = newControl();
  return {
    shared,
    mutex,
    ctl,
    counter: new Int32Array(shared, COUNTER_AT, 1),
    job: (job: SyncJob['job'], n?: number): SyncJob => ({ job, kind, ctl, shared, mutex: mutex?.handle, n }),
  };
}

async function contendedRound(kind: Kind, workers: BenchWorker[]): Promise<number> {
  const n = N_CONTENDED;
  const { ctl, counter, job } = freshShared(kind);
  const answers = workers.map((wk) => wk.next<ContendedResult>(WORKER_TIMEOUT_MS));
  for (const wk of workers) wk.post(job('contended', n));
  waitFor(ctl, READY, workers.length, WORKER_TIMEOUT_MS, 'get ready');
  const start = now();
  // release: the workers spin on GO.
  Atomics.store(ctl, GO, 1);
  const results = await Promise.all(answers);
  const wall = Math.max(...results.map((r) => r.end)) - start;
  const expected = n * workers.length;
  if (counter[0] !== expected) {
    throw new Error(`${kind}: counter is ${counter[0]}, expected ${expected}: the lock let two threads in`);
  }
  return (wall * 1e6) / expected; // ns per lock op
}

export async function contended(workers: BenchWorker[]): Promise<Row> {
  const s = await alternate(REPS, ['shmkit', 'spin'] as const, (k) =>
    contendedRound(k === 'shmkit' ? 'mutex' : 'spin', workers),
  );
  const ops = N_CONTENDED * workers.length;
  const shmkit = median(s.shmkit);
  const spin = median(s.spin);
  return {
    operation: `2 workers x ${N_CONTENDED.toLocaleString('en-US')} lock/++/unlock`,
    unit: 'ns/lock op',
    shmkit,
    spin,
    samples: s,
    shmkitTotalMs: (shmkit * ops) / 1e6,
    spinTotalMs: (spin * ops) / 1e6,
    verified: true,
  };
}

type AsyncVariant = 'mutex' | 'spin' | 'spin-yielding';

interface AsyncRound {
  mainOpsPerSec: number;
  workerOpsPerSec: number;
  cpuCores: number;
}

async function asyncRound(variant: AsyncVariant, worker: BenchWorker): Promise<AsyncRound> {
  const kind: Kind = variant === 'mutex' ? 'mutex' : 'spin';
  const { mutex, ctl, counter, shared, job } = freshShared(kind);
  const w = new Int32Array(shared, LOCK_AT, 1);
  const answer = worker.next<PartnerResult>(WORKER_TIMEOUT_MS);
  worker.post(job('partner'));
  waitFor(ctl, READY, 1, WORKER_TIMEOUT_MS, 'get ready');
  const cpu0 = process.cpuUsage();
  const start = now();
  const end = start + ASYNC_MS;
  // Should the main thread ever starve, stop the worker: the loop below then gets the lock and ends.
  // (Timers only fire when the main thread yields to the event loop: not in the microtask variant,
  // whose await never does; there the worker's tight loop keeps releasing the lock instead.)
  const watchdog = setTimeout(() => Atomics.store(ctl, STOP, 1), WORKER_TIMEOUT_MS);
  Atomics.store(ctl, GO, 1);
  let ops = 0;
  if (mutex !== undefined) {
    do {
      await mutex.lockAsync();
      counter[0] = counter[0]! + 1;
      mutex.unlock();
      ops++;
    } while ((ops & 15) !== 0 || now() < end);
  } else {
    const lock = variant === 'spin' ? spinLockAsync : spinLockAsyncYielding;
    do {
      await lock(w);
      counter[0] = counter[0]! + 1;
      spinUnlock(w);
      ops++;
    } while ((ops & 15) !== 0 || now() < end);
  }
  const elapsed = now() - start;
  Atomics.store(ctl, STOP, 1);
  clearTimeout(watchdog);
  const { ops: workerOps } = await answer;
  const cpu = process.cpuUsage(cpu0);
  if (counter[0] !== ops + workerOps) {
    throw new Error(`${variant}: counter is ${counter[0]}, expected ${ops + workerOps}`);
  }
  return {
    mainOpsPerSec: (ops * 1000) / elapsed,
    workerOpsPerSec: (workerOps * 1000) / elapsed,
    cpuCores: (cpu.user + cpu.system) / 1000 / elapsed,
  };
}

export async function asyncHandOff(worker: BenchWorker): Promise<Row[]> {
  const rounds = await alternate(REPS, ['mutex', 'spin', 'spin-yielding'] as const, (v) =>
    asyncRound(v, worker),
  );
  const med = (v: AsyncVariant, k: keyof AsyncRound): number => median(rounds[v].map((x) => x[k]));
  const row = (operation: string, baseline: AsyncVariant): Row => ({
    operation,
    unit: 'main ops/s',
    shmkit: med('mutex', 'mainOpsPerSec'),
    spin: med(baseline, 'mainOpsPerSec'),
    samples: {
      shmkit: rounds.mutex.map((x) => x.mainOpsPerSec),
      spin: rounds[baseline].map((x) => x.mainOpsPerSec),
    },
    shmkitWorkerOpsPerSec: med('mutex', 'workerOpsPerSec'),
    spinWorkerOpsPerSec: med(baseline, 'workerOpsPerSec'),
    shmkitCpuCores: med('mutex', 'cpuCores'),
    spinCpuCores: med(baseline, 'cpuCores'),
    verified: true,
  });
  return [
    row('lockAsync vs spin + await resolved promise', 'spin'),
    row('lockAsync vs spin + await setImmediate', 'spin-yielding'),
  ];
}
