import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pendingEventLoopHolds, ShmkitError } from '@shmkit/core';
import { Condition, Mutex } from '@shmkit/sync';
import { describe, expect, it } from 'vitest';
import { asyncCodeOf, codeOf } from '../../../test/helpers/errors.js';
import { runWorker, runWorkers, startWorker, until, withTimeout } from '../../../test/helpers/workers.js';

const worker = new URL('./fixtures/sync-worker.ts', import.meta.url);

/** Starts a worker that holds `m` until `release()` is called. */
async function holdInWorker(
  m: Mutex,
  o: { delay?: number; relockAfter?: number } = {},
): Promise<{ signal: () => void; release: () => Promise<void> }> {
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const w = startWorker(worker, { task: 'mutex-hold', mutex: m.handle, flag: flag.buffer, ...o });
  const released = new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  await until(() => Atomics.load(flag, 1) !== 0, 'worker taking the mutex');
  const signal = (): void => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  return {
    signal,
    release: async () => {
      signal();
      await withTimeout(released, 20_000, 'worker releasing the mutex');
      await w.terminate();
    },
  };
}

describe('Mutex', () => {
  it('keeps 4 workers x 100k non-atomic increments exact, with the main thread in on lockAsync', async () => {
    // test/conformance/primitives.test.ts runs the mixed lock/withLock/lockAsync version of this on
    // heap and segment memory; here the counts are larger and the main thread's event loop joins.
    const m = new Mutex();
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const n = 100_000;
    const job = { task: 'mutex-increment', mutex: m.handle, counter: counter.buffer, n };
    const workers = runWorkers(worker, Array(4).fill(job), 120_000);
    const mainN = 5_000;
    for (let i = 0; i < mainN; i++) {
      await m.withLockAsync(() => {
        counter[0] = counter[0]! + 1;
      });
    }
    await workers;
    expect(counter[0]).toBe(4 * n + mainN);
    expect(m.locked).toBe(false);
    expect(pendingEventLoopHolds()).toBe(0);
  });

  it('locks and unlocks without contention, tryLock fails while held', () => {
    const m = new Mutex();
    expect(m.tryLock()).toBe(true);
    expect(m.locked).toBe(true);
    expect(m.heldByCurrentThread).toBe(true);
    expect(m.tryLock()).toBe(false);
    m.unlock();
    expect(m.locked).toBe(false);
  });

  it('throws DEADLOCK when the holder calls lock() again', () => {
    const m = new Mutex();
    m.lock();
    expect(codeOf(() => m.lock())).toBe('DEADLOCK');
    expect(codeOf(() => m.lock({ timeout: 10 }))).toBe('DEADLOCK');
    m.unlock();
  });

  it('throws NOT_OWNER for unlock of a free mutex and unlock from another thread', async () => {
    const m = new Mutex();
    expect(codeOf(() => m.unlock())).toBe('NOT_OWNER');
    m.lock();
    expect(await runWorker(worker, { task: 'mutex-unlock-foreign', mutex: m.handle })).toBe('NOT_OWNER');
    expect(m.heldByCurrentThread).toBe(true);
    m.unlock();
  });

  it('times out a blocking lock with TIMEOUT and an async one too', async () => {
    const m = new Mutex();
    const holder = await holdInWorker(m);
    expect(codeOf(() => m.lock({ timeout: 30 }))).toBe('TIMEOUT');
    expect(codeOf(() => m.lock({ timeout: 0 }))).toBe('TIMEOUT');
    expect(await asyncCodeOf(m.lockAsync({ timeout: 30 }))).toBe('TIMEOUT');
    await holder.release();
    m.lock({ timeout: 5_000 });
    m.unlock();
  });

  it('rejects an aborted lockAsync with ABORTED and leaves no trace', async () => {
    const m = new Mutex();
    const holder = await holdInWorker(m);
    const ac = new AbortController();
    const p = m.lockAsync({ signal: ac.signal });
    const second = m.lockAsync({ timeout: 20_000 });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    const e = await p.catch((x: unknown) => x);
    expect(ShmkitError.is(e, 'ABORTED')).toBe(true);
    expect((e as Error).cause).toBeInstanceOf(Error);
    // The live waiter still gets the mutex when the holder lets go: no wake-up was lost to the
    // abandoned one.
    await holder.release();
    await withTimeout(second, 20_000, 'second waiter');
    expect(m.heldByCurrentThread).toBe(true);
    m.unlock();
    expect(pendingEventLoopHolds()).toBe(0);
    // An already-aborted signal rejects at once.
    expect(await asyncCodeOf(m.lockAsync({ signal: AbortSignal.abort() }))).toBe('ABORTED');
  });

  it('lets a thread block in lock() while its own lockAsync is pending', async () => {
    // The unlock's single wake-up goes to the oldest V8 waiter: this thread's async one, which
    // cannot run while the thread is blocked. The blocking lock must still get the mutex.
    const m = new Mutex();
    // The worker unlocks 200 ms after the signal and takes the mutex back 1.5 s later.
    const holder = await holdInWorker(m, { delay: 200, relockAfter: 1_500 });
    const pending = m.lockAsync({ timeout: 20_000 });
    holder.signal();
    m.lock({ timeout: 3_000 });
    m.unlock();
    await withTimeout(pending, 20_000, 'pending lockAsync');
    m.unlock();
    await holder.release();
  });

  it('validates options before taking the fast path', async () => {
    const m = new Mutex();
    for (const timeout of [Number.NaN, -1, '5' as unknown as number]) {
      expect(codeOf(() => m.lock({ timeout }))).toBe('INVALID_ARGUMENT');
      expect(await asyncCodeOf(m.lockAsync({ timeout }))).toBe('INVALID_ARGUMENT');
    }
    expect(await asyncCodeOf(m.lockAsync({ signal: {} as AbortSignal }))).toBe('INVALID_ARGUMENT');
    expect(m.locked).toBe(false);
  });

  it('releases through a using guard and withLock even when the body throws', () => {
    const m = new Mutex();
    {
      using _g = m.acquire();
      expect(m.heldByCurrentThread).toBe(true);
    }
    expect(m.locked).toBe(false);
    expect(() =>
      m.withLock(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(m.locked).toBe(false);
  });

  it('keeps the event loop running while the main thread awaits the lock', async () => {
    const m = new Mutex();
    const holder = await holdInWorker(m);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const waiting = m.lockAsync({ timeout: 20_000 });
    await until(() => ticks >= 5, 'timer ticks', 10_000);
    expect(m.heldByCurrentThread).toBe(false);
    await holder.release();
    await withTimeout(waiting, 20_000, 'lockAsync');
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(5);
    m.unlock();
  });

  it('keeps the process alive while only a lockAsync is pending', () => {
    // A script whose only pending work is `await lockAsync()`; an unref'd worker holds the lock for
    // a moment. Without the keep-alive, Node 20 exits early with "unsettled top-level await".
    const script = fileURLToPath(new URL('./fixtures/keep-alive-main.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('acquired');
    expect(r.status).toBe(0);
  });

  it('re-attaches from a handle and rejects a handle of another kind', () => {
    const m = new Mutex();
    const clone = structuredClone(m.handle);
    const again = Mutex.from(clone);
    again.lock();
    expect(m.locked).toBe(true);
    again.unlock();
    const c = new Condition();
    expect(codeOf(() => Mutex.from(c.handle))).toBe('INCOMPATIBLE');
    expect(codeOf(() => Mutex.from({ ...c.handle, type: 'Mutex' }))).toBe('INCOMPATIBLE');
    expect(codeOf(() => Mutex.from({} as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => Mutex.from({ ...m.handle, byteOffset: 1 << 20 }))).toBe('INVALID_ARGUMENT');
  });
});
