/**
 * The workers of benchmarks/sync.ts: jobs arrive by message; every round starts on the GO word,
 * which the workers spin on so that both start together. The answer goes back by message.
 */
import { parentPort } from 'node:worker_threads';
import { Mutex } from '@shmkit/sync';
import { GO, READY, reportError, signal, spinFor } from '../lib/control.js';
import {
  COUNTER_AT,
  type ContendedResult,
  LOCK_AT,
  now,
  type PartnerResult,
  STOP,
  type SyncJob,
  WORKER_TIMEOUT_MS,
} from './protocol.js';
import { spinLock, spinUnlock } from './spin-lock.js';

const port = parentPort!;

/** (b): n lock / non-atomic increment / unlock ops. */
function contended(job: SyncJob, counter: Int32Array, w: Int32Array, m: Mutex | null): ContendedResult {
  const n = job.n!;
  const t0 = now();
  if (m) {
    for (let i = 0; i < n; i++) {
      m.lock();
      counter[0] = counter[0]! + 1;
      m.unlock();
    }
  } else {
    for (let i = 0; i < n; i++) {
      spinLock(w);
      counter[0] = counter[0]! + 1;
      spinUnlock(w);
    }
  }
  const end = now();
  return { end, elapsed: end - t0 };
}

/** (c): blocking lock / increment / unlock until the main thread says stop. */
function partner(ctl: Int32Array, counter: Int32Array, w: Int32Array, m: Mutex | null): PartnerResult {
  let ops = 0;
  if (m) {
    while (Atomics.load(ctl, STOP) === 0) {
      m.lock();
      counter[0] = counter[0]! + 1;
      m.unlock();
      ops++;
    }
  } else {
    while (Atomics.load(ctl, STOP) === 0) {
      spinLock(w);
      counter[0] = counter[0]! + 1;
      spinUnlock(w);
      ops++;
    }
  }
  return { ops };
}

port.on('message', (job: SyncJob) => {
  const ctl = job.ctl;
  try {
    const counter = new Int32Array(job.shared, COUNTER_AT, 1);
    const w = new Int32Array(job.shared, LOCK_AT, 1);
    const m = job.kind === 'mutex' ? Mutex.from(job.mutex!) : null;
    signal(ctl, READY); // the main thread waits for every worker's READY, then stores GO
    spinFor(ctl, GO, WORKER_TIMEOUT_MS);
    port.postMessage(job.job === 'contended' ? contended(job, counter, w, m) : partner(ctl, counter, w, m));
  } catch (e) {
    reportError(ctl, e); // the main thread may be blocked waiting for READY
    throw e;
  }
});
port.postMessage('ready');
