import { Worker } from 'node:worker_threads';
import { ShmkitError } from '@shmkit/core';
import { futexWaiter, pendingFutexWaits } from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { bounded, cleanUpTestFiles, startChild, testFile, waitWhile, wakeOneSleeper } from './helpers.js';

const WORD = 0;
const READY = 1;
const segmentUrl = new URL('../dist/index.js', import.meta.url).href;

cleanUpTestFiles();

describe('futexWaiter in one process', () => {
  it('returns not-equal at once when the word differs', () => {
    const w = new Int32Array(testFile('ne').buffer!);
    Atomics.store(w, WORD, 7);
    expect(futexWaiter.wait(w, WORD, 0, 10_000)).toBe('not-equal');
  });

  it('times out a blocking wait', () => {
    const w = new Int32Array(testFile('to').buffer!);
    expect(futexWaiter.wait(w, WORD, 0, 30)).toBe('timed-out');
    expect(futexWaiter.wait(w, WORD, 0, 0)).toBe('timed-out');
  });

  it('times out a blocking wait longer than one sleep slice', () => {
    const w = new Int32Array(testFile('to-long').buffer!);
    const t0 = performance.now();
    expect(futexWaiter.wait(w, WORD, 0, 600)).toBe('timed-out');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(599);
  });

  it('times out an async wait and releases its hold on the event loop', async () => {
    const w = new Int32Array(testFile('ato').buffer!);
    await expect(futexWaiter.waitAsync(w, WORD, 0, 30)).resolves.toBe('timed-out');
    expect(pendingFutexWaits()).toBe(0);
  });

  it('answers an async wait on a changed word without a thread', async () => {
    const w = new Int32Array(testFile('ane').buffer!);
    Atomics.store(w, WORD, 1);
    await expect(futexWaiter.waitAsync(w, WORD, 0, 10_000)).resolves.toBe('not-equal');
    expect(pendingFutexWaits()).toBe(0);
  });

  it('wakes an async wait with notify and counts it', async () => {
    const w = new Int32Array(testFile('awake').buffer!);
    const p = futexWaiter.waitAsync(w, WORD, 0, 20_000);
    expect(pendingFutexWaits()).toBe(1);
    await wakeOneSleeper(w, WORD);
    await expect(bounded(p, 20_000, 'woken wait')).resolves.toBe('ok');
    expect(pendingFutexWaits()).toBe(0);
  });

  it('wakes every async waiter with notify(Infinity)', async () => {
    const w = new Int32Array(testFile('all').buffer!);
    const ps = Array.from({ length: 5 }, () => futexWaiter.waitAsync(w, WORD, 0, 20_000));
    Atomics.store(w, WORD, 1);
    futexWaiter.notify(w, WORD, Number.POSITIVE_INFINITY);
    const rs = await bounded(Promise.all(ps), 20_000, 'five waits');
    // Each was woken, or saw the new value before it slept.
    for (const r of rs) expect(['ok', 'not-equal']).toContain(r);
  });

  it('rejects an aborted async wait promptly with ABORTED', async () => {
    const w = new Int32Array(testFile('abort').buffer!);
    const ac = new AbortController();
    const p = futexWaiter.waitAsync(w, WORD, 0, Number.POSITIVE_INFINITY, ac.signal);
    ac.abort(new Error('stop'));
    const e = await bounded(
      p.catch((x: unknown) => x),
      5_000,
      'aborted wait',
    );
    expect(ShmkitError.is(e, 'ABORTED')).toBe(true);
    expect(pendingFutexWaits()).toBe(0);
    // An already aborted signal rejects without starting a wait.
    await expect(futexWaiter.waitAsync(w, WORD, 0, 1000, ac.signal)).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('passes on a wake-up that reaches an abandoned wait, so live waiters still get it', async () => {
    const w = new Int32Array(testFile('forward').buffer!);
    for (let i = 0; i < 100; i++) {
      Atomics.store(w, WORD, i);
      const ac = new AbortController();
      const abandoned = futexWaiter.waitAsync(w, WORD, i, 20_000, ac.signal).catch(() => 'aborted');
      const live = futexWaiter.waitAsync(w, WORD, i, 20_000);
      // Give both threads time to fall asleep (for coverage of the race, not for correctness).
      await new Promise((r) => setTimeout(r, 2));
      // Abort one, then publish and wake one. If the kernel hands the wake-up to the abandoned
      // thread, it must pass it on: otherwise the live wait sleeps on and this round times out.
      ac.abort();
      Atomics.store(w, WORD, i + 1);
      futexWaiter.notify(w, WORD, 1);
      expect(['ok', 'not-equal']).toContain(await bounded(live, 5_000, `live wait, round ${i}`));
      await abandoned;
    }
    expect(pendingFutexWaits()).toBe(0);
  });

  for (const mode of ['blocking', 'async'] as const) {
    it(`lets a worker thread with a pending ${mode} wait be terminated`, async () => {
      const f = testFile(`term-${mode}`);
      const worker = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads');
         import(workerData.url).then(({ futexWaiter }) => {
           const w = new Int32Array(workerData.buffer);
           if (workerData.mode === 'async') futexWaiter.waitAsync(w, 0, 0, Infinity);
           parentPort.postMessage('waiting');
           if (workerData.mode === 'blocking') futexWaiter.wait(w, 0, 0, Infinity);
         });`,
        { eval: true, workerData: { url: segmentUrl, buffer: f.buffer, mode } },
      );
      await bounded(new Promise((r) => worker.once('message', r)), 20_000, 'worker start');
      // A blocked thread runs no JavaScript, so V8 cannot stop it: the waiter returns to
      // JavaScript every slice (blocking) or is cancelled by the worker's clean-up (async).
      await bounded(worker.terminate(), 10_000, 'worker.terminate()');
      // This thread's waits are unaffected.
      const w = new Int32Array(f.buffer!);
      const p = futexWaiter.waitAsync(w, WORD, 0, 20_000);
      await wakeOneSleeper(w, WORD);
      await expect(bounded(p, 20_000, 'wait after terminate')).resolves.toBe('ok');
    });
  }

  it('validates its arguments', () => {
    const w = new Int32Array(testFile('args').buffer!);
    expect(() => futexWaiter.wait(w, 1024, 0, 10)).toThrow(/outside/);
    expect(() => futexWaiter.notify(w, WORD, -1)).toThrow(ShmkitError);
    expect(() => futexWaiter.wait(new Float64Array(4) as unknown as Int32Array, 0, 0, 10)).toThrow(
      /Int32Array/,
    );
  });
});

/**
 * A child process running fixtures/child.mjs `task` over a fresh test file, once it is about to
 * sleep on WORD (it sets READY first).
 */
async function childAsleep(tag: string, task: string, env?: NodeJS.ProcessEnv) {
  const f = testFile(tag);
  const w = new Int32Array(f.buffer!);
  const child = startChild('child.mjs', [task, f.path], env);
  await waitWhile(w, READY, 0);
  return { f, w, child };
}

describe('futexWaiter across processes', () => {
  for (const [task, title] of [
    ['wait', 'wakes a blocking wait in another process'],
    ['wait-async', 'wakes an async wait in another process'],
    ['worker-wait', 'wakes a worker thread of another process'],
    // If the pending wait did not hold the event loop, the child would exit without printing.
    ['keep-alive', 'keeps the other process alive while its async wait is pending'],
  ] as const) {
    it(title, async () => {
      const { w, child } = await childAsleep(`x-${task}`, task);
      await wakeOneSleeper(w, WORD);
      expect(await child.line()).toBe('ok');
      expect((await child.exited()).code).toBe(0);
    });
  }

  it('is woken by a wait in another process that sees the word change', async () => {
    const { w, child } = await childAsleep('x-store', 'wait');
    Atomics.store(w, WORD, 1);
    futexWaiter.notify(w, WORD, 1);
    // Woken in the kernel, or it saw the store before sleeping: either way it returns at once.
    expect(['ok', 'not-equal']).toContain(await child.line());
  });

  it('lets a process exit by itself once its only pending wait is aborted', async () => {
    const f = testFile('x-abort');
    const child = startChild('child.mjs', ['abort', f.path]);
    expect(await child.line()).toBe('aborted 0');
    const r = await child.exited(10_000);
    expect(r.code).toBe(0);
  });

  it('works with the fallback for kernels without futex_waitv', async () => {
    const env = { SHMKIT_FUTEX_WAITV: '0' };
    const { f, w, child } = await childAsleep('x-fallback', 'wait-async', env);
    await wakeOneSleeper(w, WORD);
    expect(await child.line()).toBe('ok');
    const aborting = startChild('child.mjs', ['abort', f.path], env);
    expect(await aborting.line()).toBe('aborted 0');
    expect((await aborting.exited(10_000)).code).toBe(0);
  });
});
