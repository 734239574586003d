import { pendingEventLoopHolds } from '@shmkit/core';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import { describe, expect, it } from 'vitest';
import { asyncCodeOf, codeOf } from '../../../test/helpers/errors.js';
import { runWorkers, until, withTimeout } from '../../../test/helpers/workers.js';

const worker = new URL('./fixtures/sync-worker.ts', import.meta.url);
const sab = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(bytes);

describe('Condition', () => {
  it('carries every item of a bounded buffer exactly once between 2 producers and 2 consumers', async () => {
    const m = new Mutex();
    const notFull = new Condition();
    const notEmpty = new Condition();
    const queue = sab(4 * (2 + 8));
    const perProducer = 20_000;
    const goal = 2 * perProducer;
    const seen = sab(goal);
    const total = sab(4);
    const handles = { mutex: m.handle, notFull: notFull.handle, notEmpty: notEmpty.handle, queue };
    const producers = [0, perProducer].map((base) => ({
      ...handles,
      task: 'bounded-buffer-producer',
      base,
      n: perProducer,
    }));
    const consumers = [0, 1].map(() => ({ ...handles, task: 'bounded-buffer-consumer', seen, total, goal }));
    const [, got] = await Promise.all([
      runWorkers(worker, producers, 120_000),
      runWorkers<{ count: number; sum: number }>(worker, consumers, 120_000),
    ]);
    const count = got.reduce((a, r) => a + r.count, 0);
    const sum = got.reduce((a, r) => (a + r.sum) | 0, 0);
    let expected = 0;
    for (let v = 0; v < goal; v++) expected = (expected + v) | 0;
    expect(count).toBe(goal);
    expect(sum).toBe(expected);
    expect(new Uint8Array(seen).every((x) => x === 1)).toBe(true);
  });

  // Timeouts, aborts and NOT_OWNER: test/conformance/primitives.test.ts, on heap and segment memory.
  it('wakes an async waiter whose predicate another task made true', async () => {
    const m = new Mutex();
    const c = new Condition();
    const state = { ready: false };
    await m.lockAsync();
    const waiting = c.waitForAsync(m, () => state.ready, { timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 10));
    await m.withLockAsync(() => {
      state.ready = true;
    });
    c.notify();
    expect(await withTimeout(waiting, 20_000, 'waitForAsync')).toBe(true);
    expect(m.heldByCurrentThread).toBe(true);
    expect(c.waiting).toBe(0);
    m.unlock();
    expect(pendingEventLoopHolds()).toBe(0);
  });
});

describe('Semaphore', () => {
  it('never lets more than 3 of 6 workers in, and does let 3 in', async () => {
    const s = new Semaphore(3);
    const stats = new Int32Array(sab(12));
    const n = 100;
    const job = { task: 'semaphore-concurrency', sem: s.handle, stats: stats.buffer, n };
    await runWorkers(worker, Array(6).fill(job), 120_000);
    expect(stats[2]).toBe(6 * n);
    expect(stats[1]).toBe(3);
    expect(s.value).toBe(3);
  });

  it('takes counts all or nothing and never goes past max', async () => {
    const s = new Semaphore(2, { max: 4 });
    expect(s.tryAcquire(3)).toBe(false);
    expect(s.value).toBe(2);
    expect(codeOf(() => s.acquire({ count: 3, timeout: 20 }))).toBe('TIMEOUT');
    expect(s.value).toBe(2);
    const big = s.acquireAsync({ count: 4, timeout: 20_000 });
    s.release(2);
    await withTimeout(big, 20_000, 'acquireAsync(4)');
    expect(s.value).toBe(0);
    s.release(4);
    expect(codeOf(() => s.release())).toBe('INVALID_ARGUMENT');
    expect(s.value).toBe(4);
    expect(codeOf(() => new Semaphore(5, { max: 4 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Semaphore(-1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.acquire({ count: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.acquire({ timeout: Number.NaN }))).toBe('INVALID_ARGUMENT');
    expect(await asyncCodeOf(s.acquireAsync({ count: 5 }))).toBe('INVALID_ARGUMENT');
  });
  // Timed-out and aborted acquirers: test/conformance/primitives.test.ts, on heap and segment memory.
});

describe('RwLock', () => {
  it('lets readers share and never lets a writer overlap anyone', async () => {
    const rw = new RwLock();
    const stats = new Int32Array(sab(24));
    const reader = { task: 'rwlock-reader', rw: rw.handle, stats: stats.buffer, n: 200, hold: 0.5 };
    const writer = { task: 'rwlock-writer', rw: rw.handle, stats: stats.buffer, n: 100 };
    await runWorkers(worker, [...Array(3).fill(reader), ...Array(2).fill(writer)], 120_000);
    expect(stats[3]).toBe(0); // violations
    expect(stats[2]).toBeGreaterThanOrEqual(2); // concurrent readers observed
    expect(rw.readers).toBe(0);
    expect(rw.writeLocked).toBe(false);
  });

  it('lets a writer in while readers keep overlapping each other', async () => {
    const rw = new RwLock();
    const stats = new Int32Array(sab(24));
    // Readers until told to stop (no n), each holding its read lock 2 ms.
    const reader = { task: 'rwlock-reader', rw: rw.handle, stats: stats.buffer, hold: 2 };
    const running = runWorkers(worker, Array(3).fill(reader), 120_000);
    await until(() => Atomics.load(stats, 5) >= 10, 'readers starting');
    // The readers' critical sections overlap continuously; without writer preference this
    // writeLock would wait as long as they run.
    await rw.writeLockAsync({ timeout: 20_000 });
    expect(rw.readers).toBe(0);
    rw.writeUnlock();
    Atomics.store(stats, 4, 1);
    await running;
  });

  it('reports NOT_OWNER, DEADLOCK and TIMEOUT', () => {
    const rw = new RwLock();
    expect(codeOf(() => rw.readUnlock())).toBe('NOT_OWNER');
    expect(codeOf(() => rw.writeUnlock())).toBe('NOT_OWNER');
    rw.writeLock();
    expect(codeOf(() => rw.writeLock())).toBe('DEADLOCK');
    expect(codeOf(() => rw.readLock())).toBe('DEADLOCK');
    expect(rw.tryReadLock()).toBe(false);
    rw.writeUnlock();
    rw.readLock();
    expect(codeOf(() => rw.writeLock({ timeout: 20 }))).toBe('TIMEOUT');
    // The timed-out writer no longer holds readers back.
    expect(rw.tryReadLock()).toBe(true);
    rw.readUnlock();
    rw.readUnlock();
    expect(rw.write(() => 7)).toBe(7);
    expect(rw.read(() => 8)).toBe(8);
  });

  it('lets readers in again after an aborted async writer', async () => {
    const rw = new RwLock();
    rw.readLock();
    const ac = new AbortController();
    const w = rw.writeLockAsync({ signal: ac.signal });
    await new Promise((r) => setTimeout(r, 5));
    expect(rw.tryReadLock()).toBe(false); // a writer waits
    ac.abort();
    expect(await asyncCodeOf(w)).toBe('ABORTED');
    expect(rw.tryReadLock()).toBe(true);
    rw.readUnlock();
    rw.readUnlock();
    expect(pendingEventLoopHolds()).toBe(0);
  });
});

describe('Barrier', () => {
  it('releases 4 parties over 3 generations with exactly one leader each', async () => {
    const parties = 4;
    const generations = 3;
    const b = new Barrier(parties);
    const stats = new Int32Array(sab(4 * (2 * generations + 1)));
    const job = { task: 'barrier', barrier: b.handle, stats: stats.buffer, parties, generations };
    await runWorkers(worker, Array(parties).fill(job), 60_000);
    for (let k = 0; k < generations; k++) {
      expect(stats[2 * k]).toBe(parties);
      expect(stats[2 * k + 1]).toBe(1);
    }
    expect(stats[2 * generations]).toBe(0); // nobody passed before all had arrived
    expect(b.generation).toBe(generations);
  });

  // Withdrawal of parties that time out or abort: test/conformance/primitives.test.ts.
  it('refuses a party count outside 1..65535', () => {
    for (const parties of [0, 65_536, 1.5])
      expect(codeOf(() => new Barrier(parties))).toBe('INVALID_ARGUMENT');
    expect(new Barrier(65_535).parties).toBe(65_535);
  });
});

describe('Latch', () => {
  it('releases waiters exactly when the count reaches zero', async () => {
    const l = new Latch(3);
    l.countDown();
    l.countDown();
    expect(l.count).toBe(1);
    expect(codeOf(() => l.wait({ timeout: 10 }))).toBe('TIMEOUT');
    expect(l.tryWait()).toBe(false);
    const jobs = [{ task: 'latch-count-down', latch: l.handle, delay: 20 }];
    const done = runWorkers(worker, jobs, 30_000);
    await withTimeout(l.waitAsync(), 20_000, 'latch');
    expect(l.count).toBe(0);
    await done;
    l.wait();
    expect(codeOf(() => l.countDown())).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Latch(1).countDown(2))).toBe('INVALID_ARGUMENT');
  });

  it('is released by workers counting down', async () => {
    const l = new Latch(4);
    const jobs = Array.from({ length: 4 }, (_, i) => ({
      task: 'latch-count-down',
      latch: l.handle,
      delay: i,
    }));
    const done = runWorkers(worker, jobs, 30_000);
    l.wait({ timeout: 20_000 });
    expect(l.count).toBe(0);
    await done;
  });
});
