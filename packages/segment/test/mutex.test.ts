import { Region, registerMemoryKind, ShmkitError } from '@shmkit/core';
import { futexWaiter, ProcessIdentity } from '@shmkit/segment';
import { Mutex } from '@shmkit/sync';
import { describe, expect, it } from 'vitest';
import { cleanUpTestFiles, startChild, testFile, waitWhile } from './helpers.js';

// Layout of the test segment (see fixtures/child.mjs): words 0-3 control, mutex at 512, counter
// at 600, thread table at 1024.
const MUTEX_AT = 512;
const COUNTER_AT = 600;
const TABLE_AT = 1024;
const TABLE_BYTES = ProcessIdentity.bytesFor(32);

cleanUpTestFiles();

/** A segment with a fresh Mutex, and this thread registered as a futex-memory thread of it. */
function mutexSegment(tag: string) {
  const f = testFile(tag, TABLE_AT + TABLE_BYTES);
  const identity = new ProcessIdentity(new Int32Array(f.buffer!, TABLE_AT, TABLE_BYTES / 4));
  registerMemoryKind('futex', { waiter: futexWaiter, identity });
  const m = new Mutex({ region: new Region(f.buffer!, MUTEX_AT, Mutex.SIZE, 'futex') });
  return { f, w: new Int32Array(f.buffer!), m, identity };
}

describe('Mutex in a mapped segment', () => {
  it('keeps 4 processes x 20k non-atomic increments exact', async () => {
    const { f, w, m } = mutexSegment('mutex');
    const n = 20_000;
    const children = [0, 1, 2, 3].map(() =>
      startChild('child.mjs', ['mutex', f.path, String(n), String(TABLE_BYTES)]),
    );
    for (let arrived = 0; arrived < 4; arrived = Atomics.load(w, 3)) await waitWhile(w, 3, arrived);
    Atomics.store(w, 1, 1); // go
    futexWaiter.notify(w, 1, Number.POSITIVE_INFINITY);
    for (const c of children) {
      expect(await c.line(120_000)).toBe('done');
      expect((await c.exited()).code).toBe(0);
    }
    expect(new Int32Array(f.buffer!, COUNTER_AT, 1)[0]).toBe(4 * n);
    expect(m.locked).toBe(false);
  });

  it('reports OWNER_DEAD to a blocked lock() when the owning process is SIGKILLed', () => {
    const { f, w, m } = mutexSegment('owner-dead');
    startChild('child.mjs', ['mutex-hold-and-die', f.path, String(TABLE_BYTES)]);
    const end = performance.now() + 20_000;
    while (Atomics.load(w, 1) === 0 && performance.now() < end) futexWaiter.wait(w, 1, 0, 100);
    expect(m.locked).toBe(true);
    // This thread blocks, so the dead child stays an unreaped zombie: liveness must see through it.
    let error: unknown;
    try {
      m.lock({ timeout: 20_000 });
    } catch (e) {
      error = e;
    }
    expect(ShmkitError.is(error, 'OWNER_DEAD')).toBe(true);
    expect(m.heldByCurrentThread).toBe(true);
    m.consistent();
    m.unlock();
    expect(m.locked).toBe(false);
  });

  it('hands the mutex to lockAsync when the owner process dies', async () => {
    const { f, w, m } = mutexSegment('owner-dead-async');
    const c = startChild('child.mjs', ['mutex-hold-and-die', f.path, String(TABLE_BYTES)]);
    await waitWhile(w, 1, 0);
    const error = await m.lockAsync({ timeout: 20_000 }).catch((e: unknown) => e);
    expect(ShmkitError.is(error, 'OWNER_DEAD')).toBe(true);
    m.consistent();
    m.unlock();
    expect((await c.exited()).signal).toBe('SIGKILL');
  });
});
