/**
 * (a) of benchmarks/sync.ts: uncontended, main thread: lock+unlock, tryLock+unlock,
 * `using _ = m.acquire()` and `await m.lockAsync()`+unlock, in ns per pair, Mutex against the spin
 * lock. One function per variant so that each loop is optimized alone.
 */
import { CACHE_LINE } from '@shmkit/core';
import { Mutex } from '@shmkit/sync';
import { alternate, median, QUICK } from '../lib/harness.js';
import { REPS, type Row } from './row.js';
import { SpinGuard, spinLock, spinLockAsync, spinTryLock, spinUnlock } from './spin-lock.js';

/** Lock/unlock pairs per timed run on the main thread. */
export const N_UNCONTENDED = QUICK ? 200_000 : 2_000_000;
/** Pairs per timed run of the async forms (each pair costs a few promise ticks). */
export const N_ASYNC_UNCONTENDED = QUICK ? 50_000 : 500_000;

function mutexLockUnlock(m: Mutex, n: number): void {
  for (let i = 0; i < n; i++) {
    m.lock();
    m.unlock();
  }
}
function spinLockUnlock(w: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    spinLock(w);
    spinUnlock(w);
  }
}
function mutexTryLock(m: Mutex, n: number): void {
  for (let i = 0; i < n; i++) {
    if (!m.tryLock()) throw new Error('tryLock failed on a free mutex');
    m.unlock();
  }
}
function spinTryLockUnlock(w: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (!spinTryLock(w)) throw new Error('tryLock failed on a free spin lock');
    spinUnlock(w);
  }
}
// On Node 20 `using` is down-levelled by the compiler (tsx/esbuild here, tsc likewise): these rows
// include the helper's bookkeeping, the same for both sides.
function mutexUsing(m: Mutex, n: number): void {
  for (let i = 0; i < n; i++) {
    using _ = m.acquire();
  }
}
function spinUsing(w: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    spinLock(w);
    using _ = new SpinGuard(w);
  }
}
async function mutexAsync(m: Mutex, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await m.lockAsync();
    m.unlock();
  }
}
async function spinAsync(w: Int32Array, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await spinLockAsync(w);
    spinUnlock(w);
  }
}

type Loop<L> = (lock: L, n: number) => void | Promise<void>;

/** Nanoseconds per op of `loop(lock, n)`, one timed run. */
async function nsPerOp<L>(lock: L, n: number, loop: Loop<L>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await loop(lock, n);
  return Number(process.hrtime.bigint() - t0) / n;
}

export async function uncontended(): Promise<Row[]> {
  const m = new Mutex();
  const w = new Int32Array(new SharedArrayBuffer(CACHE_LINE));
  const n = N_UNCONTENDED;
  const cases: [string, number, Loop<Mutex>, Loop<Int32Array>][] = [
    ['lock + unlock', n, mutexLockUnlock, spinLockUnlock],
    ['tryLock + unlock', n, mutexTryLock, spinTryLockUnlock],
    ['using _ = m.acquire()', n, mutexUsing, spinUsing],
    ['await lockAsync() + unlock', N_ASYNC_UNCONTENDED, mutexAsync, spinAsync],
  ];
  const rows: Row[] = [];
  for (const [operation, count, mutexLoop, spinLoop] of cases) {
    const s = await alternate(REPS, ['shmkit', 'spin'] as const, (k) =>
      k === 'shmkit' ? nsPerOp(m, count, mutexLoop) : nsPerOp(w, count, spinLoop),
    );
    rows.push({ operation, unit: 'ns/pair', shmkit: median(s.shmkit), spin: median(s.spin), samples: s });
  }
  return rows;
}
