/**
 * What the main thread of benchmarks/sync.ts and its workers (sync/worker.ts) agree on: the layout
 * of the shared buffer of (b) and (c), the control words, and the jobs.
 *
 * Lock word and counter sit on separate 128-byte lines of one buffer, the same layout for the
 * Mutex and the spin lock, so neither side gets (or suffers) false sharing by luck. A round's
 * control words are lib/control.ts's, in a buffer of their own.
 */
import { CACHE_LINE, type Handle } from '@shmkit/core';
import { ACK } from '../lib/control.js';

export const LOCK_AT = 0; // the Mutex (Mutex.SIZE bytes) or the spin lock word
export const COUNTER_AT = CACHE_LINE; // the counter the lock protects
export const SHARED_BYTES = 2 * CACHE_LINE;

/** (c): the main thread sets 1 to stop the worker (the control block's main-to-worker word). */
export const STOP = ACK;

/** Upper bound on any single wait for a worker. */
export const WORKER_TIMEOUT_MS = 60_000;

export type Kind = 'mutex' | 'spin';

/** (b) 'contended': n lock/++/unlock ops; (c) 'partner': lock/++/unlock until STOP. */
export interface SyncJob {
  job: 'contended' | 'partner';
  kind: Kind;
  /** The round's control block (lib/control.ts). */
  ctl: Int32Array;
  shared: SharedArrayBuffer;
  mutex: Handle | undefined;
  n?: number;
}

/** A worker's answer to 'contended': when it finished (epoch ms) and how long it ran. */
export interface ContendedResult {
  end: number;
  elapsed: number;
}

/** A worker's answer to 'partner': how many ops it did. */
export interface PartnerResult {
  ops: number;
}

/** Wall-clock milliseconds, comparable across threads. */
export const now = (): number => performance.timeOrigin + performance.now();
