import { Worker } from 'node:worker_threads';
import { Mutex, RwLock } from '@shmkit/sync';
import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../../test/helpers/workers.js';

describe('Symbol.dispose on the sync primitives', () => {
  it('unlocks a mutex the scope left locked, even when the scope throws', () => {
    const m = new Mutex();
    expect(() => {
      using held = Mutex.from(m.handle);
      held.lock();
      throw new Error('boom');
    }).toThrow('boom');
    expect(m.tryLock()).toBe(true);
    m.unlock();
  });

  it('leaves alone a mutex the scope already unlocked, or that another thread holds', async () => {
    const m = new Mutex();
    {
      using held = Mutex.from(m.handle);
      held.lock();
      held.unlock();
    }
    expect(m.tryLock()).toBe(true);
    m.unlock();
    // Held by a worker: disposing this thread's handle must not release the worker's lock.
    const w = new Worker(
      `const { workerData } = require('node:worker_threads');
       import('@shmkit/sync').then(({ Mutex }) => Mutex.from(workerData).lock());`,
      { eval: true, workerData: m.handle },
    );
    await withTimeout(new Promise((resolve) => w.once('exit', resolve)), 20_000, 'the worker');
    {
      using other = Mutex.from(m.handle);
      expect(other.tryLock()).toBe(false);
    }
    expect(m.tryLock()).toBe(false);
  });

  it('releases a write lock the scope holds, and never a read lock', () => {
    const rw = new RwLock();
    {
      using w = RwLock.from(rw.handle);
      w.writeLock();
    }
    expect(rw.tryWriteLock()).toBe(true);
    rw.writeUnlock();
    {
      using r = RwLock.from(rw.handle);
      r.readLock();
    }
    expect(rw.tryWriteLock()).toBe(false); // the read lock is still held
    rw.readUnlock();
    expect(rw.tryWriteLock()).toBe(true);
  });
});
