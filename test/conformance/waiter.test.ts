/**
 * The waiter contract (packages/core/src/waiter.ts), run against both implementations: V8's
 * Atomics on heap memory and the native futex on mapped memory (docs/architecture.md, "Two kinds
 * of memory"). Sleepers are real worker threads (and, for the futex, a real process); every wait
 * is bounded, and no result depends on timing: a wake is retried until a sleeper took it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { heapWaiter, ShmkitError, type Waiter, type WaitResult } from '@shmkit/core';
import { futexWaiter } from '@shmkit/segment';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTestFiles, testFile } from '../../packages/segment/test/helpers.js';
import { killChildren, spawnFixture } from '../helpers/children.js';
import { withTimeout } from '../helpers/workers.js';

const fixtures = new URL('./fixtures/', import.meta.url);
const peerFile = new URL('waiter-peer.mjs', fixtures);
/** Word the peers sleep on; the next word counts their arrivals. */
const WORD = 4;
const ARRIVED = WORD + 1;
const PEER_TIMEOUT_MS = 20_000;

interface Memory {
  readonly buffer: SharedArrayBuffer;
  readonly path?: string;
}

interface Implementation {
  readonly name: string;
  readonly waiter: Waiter;
  readonly kind: 'heap' | 'futex';
  memory(): Memory;
}

const implementations: Implementation[] = [
  {
    name: 'heap waiter (Atomics.wait/notify on a SharedArrayBuffer)',
    waiter: heapWaiter,
    kind: 'heap',
    memory: () => ({ buffer: new SharedArrayBuffer(64) }),
  },
  {
    name: 'futex waiter (FUTEX_WAIT/FUTEX_WAKE on a mapped file)',
    waiter: futexWaiter,
    kind: 'futex',
    memory: () => {
      const f = testFile('waiter', 4096);
      return { buffer: f.buffer!, path: f.path };
    },
  },
];

afterEach(() => {
  killChildren();
  removeTestFiles();
});

describe.each(implementations)('$name', ({ waiter, kind, memory }) => {
  /** A worker thread sleeping on WORD (expected 0); resolves with its WaitResult. */
  function sleeper(buffer: SharedArrayBuffer, async = false): Promise<WaitResult> {
    const w = new Worker(peerFile, {
      workerData: { kind, buffer, index: WORD, expected: 0, timeout: PEER_TIMEOUT_MS, async },
    });
    const result = new Promise<WaitResult>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`sleeper exited with ${code} before reporting`)));
    });
    return withTimeout(result, PEER_TIMEOUT_MS + 10_000, 'a sleeper').finally(() => void w.terminate());
  }

  /** Blocks (bounded) until `n` sleepers have announced themselves. */
  function arrivals(i32: Int32Array, n: number): void {
    const end = performance.now() + PEER_TIMEOUT_MS;
    for (let seen = Atomics.load(i32, ARRIVED); seen < n; seen = Atomics.load(i32, ARRIVED)) {
      if (performance.now() > end) throw new Error(`only ${seen} of ${n} sleepers arrived`);
      waiter.wait(i32, ARRIVED, seen, 100);
    }
  }

  /**
   * notify(1) until one sleeper was woken: a sleeper that has announced itself may not be asleep
   * yet, and the word does not change, so it falls asleep later and the next notify finds it.
   */
  async function wakeOne(i32: Int32Array): Promise<number> {
    const end = performance.now() + PEER_TIMEOUT_MS;
    for (;;) {
      const n = waiter.notify(i32, WORD, 1);
      expect(n).toBeLessThanOrEqual(1);
      if (n === 1) return n;
      if (performance.now() > end) throw new Error('no sleeper took a notify');
      await delay(2);
    }
  }

  it(`has kind '${kind}'`, () => {
    expect(waiter.kind).toBe(kind);
  });

  it('reports not-equal at once when the word already differs, blocking and async', async () => {
    const i32 = new Int32Array(memory().buffer);
    Atomics.store(i32, WORD, 7);
    expect(waiter.wait(i32, WORD, 0, PEER_TIMEOUT_MS)).toBe('not-equal');
    expect(await waiter.waitAsync(i32, WORD, 0, PEER_TIMEOUT_MS)).toBe('not-equal');
  });

  it('times out when nobody wakes it, blocking and async, a zero timeout included', async () => {
    const i32 = new Int32Array(memory().buffer);
    expect(waiter.wait(i32, WORD, 0, 20)).toBe('timed-out');
    expect(waiter.wait(i32, WORD, 0, 0)).toBe('timed-out');
    expect(await waiter.waitAsync(i32, WORD, 0, 20)).toBe('timed-out');
    expect(await waiter.waitAsync(i32, WORD, 0, 0)).toBe('timed-out');
  });

  it('treats a negative timeout as zero', async () => {
    const i32 = new Int32Array(memory().buffer);
    expect(waiter.wait(i32, WORD, 0, -5)).toBe('timed-out');
    expect(await waiter.waitAsync(i32, WORD, 0, -5)).toBe('timed-out');
  });

  it('refuses a negative or NaN notify count with INVALID_ARGUMENT', () => {
    const i32 = new Int32Array(memory().buffer);
    for (const count of [-1, Number.NaN]) {
      expect(() => waiter.notify(i32, WORD, count)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error,
      );
    }
  });

  it('wakes nobody when nobody sleeps', () => {
    const i32 = new Int32Array(memory().buffer);
    expect(waiter.notify(i32, WORD, 1)).toBe(0);
    expect(waiter.notify(i32, WORD, Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('wakes a thread blocked in wait, and one in waitAsync, with ok', async () => {
    for (const async of [false, true]) {
      const m = memory();
      const i32 = new Int32Array(m.buffer);
      const result = sleeper(m.buffer, async);
      arrivals(i32, 1);
      expect(await wakeOne(i32)).toBe(1);
      expect(await result).toBe('ok');
    }
  });

  it('wakes one sleeper per notify(1), and the counts add up', async () => {
    const m = memory();
    const i32 = new Int32Array(m.buffer);
    const results = [sleeper(m.buffer), sleeper(m.buffer, true), sleeper(m.buffer)];
    arrivals(i32, 3);
    let woken = 0;
    for (let i = 0; i < 3; i++) woken += await wakeOne(i32);
    expect(woken).toBe(3);
    expect(await Promise.all(results)).toEqual(['ok', 'ok', 'ok']);
    expect(waiter.notify(i32, WORD, Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('wakes every sleeper with notify(Infinity)', async () => {
    const m = memory();
    const i32 = new Int32Array(m.buffer);
    const results = [sleeper(m.buffer), sleeper(m.buffer, true)];
    arrivals(i32, 2);
    let woken = 0;
    const end = performance.now() + PEER_TIMEOUT_MS;
    while (woken < 2) {
      if (performance.now() > end) throw new Error(`${woken} of 2 sleepers woken`);
      woken += waiter.notify(i32, WORD, Number.POSITIVE_INFINITY);
      await delay(2);
    }
    expect(woken).toBe(2);
    expect(await Promise.all(results)).toEqual(['ok', 'ok']);
  });

  it('lets this thread wait asynchronously while the event loop runs the waker', async () => {
    const i32 = new Int32Array(memory().buffer);
    let settled = false;
    const p = waiter.waitAsync(i32, WORD, 0, PEER_TIMEOUT_MS).finally(() => {
      settled = true;
    });
    let woken = 0;
    const end = performance.now() + PEER_TIMEOUT_MS;
    while (!settled && performance.now() < end) {
      woken += waiter.notify(i32, WORD, 1);
      await delay(2);
    }
    expect(await p).toBe('ok');
    expect(woken).toBe(1);
  });

  it('rejects an aborted waitAsync with ABORTED, and the word stays usable', async () => {
    const i32 = new Int32Array(memory().buffer);
    const pre = new AbortController();
    pre.abort('before');
    await expect(waiter.waitAsync(i32, WORD, 0, PEER_TIMEOUT_MS, pre.signal)).rejects.toSatisfy((e) =>
      ShmkitError.is(e, 'ABORTED'),
    );
    const ac = new AbortController();
    const p = waiter.waitAsync(i32, WORD, 0, PEER_TIMEOUT_MS, ac.signal);
    ac.abort('during');
    await expect(p).rejects.toSatisfy((e) => ShmkitError.is(e, 'ABORTED'));
    // A sleeper that comes after the abandoned wait is still woken. (Whether a notify the abandoned
    // wait took is passed on cannot be observed from here: a sleeper that has announced itself
    // may not be asleep yet, and then a notify rightly wakes nobody. So notify until it wakes.)
    const result = sleeper(i32.buffer as SharedArrayBuffer);
    arrivals(i32, 1);
    let settled = false;
    void result.finally(() => {
      settled = true;
    });
    const end = performance.now() + PEER_TIMEOUT_MS;
    while (!settled && performance.now() < end) {
      waiter.notify(i32, WORD, 1);
      await delay(2);
    }
    expect(await result).toBe('ok');
  });

  if (kind === 'futex') {
    it('wakes a sleeper in another process', async () => {
      const m = memory();
      const i32 = new Int32Array(m.buffer);
      const child = spawnFixture(fixtures, 'waiter-peer.mjs', [
        JSON.stringify({
          kind,
          path: m.path,
          index: WORD,
          expected: 0,
          timeout: PEER_TIMEOUT_MS,
          async: false,
        }),
      ]);
      arrivals(i32, 1);
      expect(await wakeOne(i32)).toBe(1);
      expect(await child.line(PEER_TIMEOUT_MS + 5_000)).toBe('ok');
      expect((await child.exited()).code).toBe(0);
    });
  }
});
