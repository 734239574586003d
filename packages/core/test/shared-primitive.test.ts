import {
  Deadline,
  defineTag,
  Region,
  SharedPrimitive,
  timeoutError,
  type WaitSteps,
  waitStepsAsync,
} from '@shmkit/core';
import { describe, expect, it } from 'vitest';

const FLAG_TAG = defineTag('f~', 'TestFlag', 3);
const VALUE = 1;

/** The smallest primitive: a word that waiters wait to see set. */
class TestFlag extends SharedPrimitive {
  static readonly SIZE = 8;
  static readonly TAG = FLAG_TAG;
  built = 0;

  constructor(o?: { region?: Region }) {
    super(o?.region);
    Atomics.store(this.i32, VALUE, 0);
    this.publish();
  }

  set(): void {
    Atomics.store(this.i32, VALUE, 1);
    this.waiter.notify(this.i32, VALUE, Number.POSITIVE_INFINITY);
  }

  wait(timeout: number): void {
    this.runSteps(this.stepsUntil(new Deadline(timeout)));
  }

  waitAsync(o?: { timeout?: number; signal?: AbortSignal }, check?: () => void): Promise<void> {
    return this.runStepsAsync(o, (deadline) => {
      check?.();
      this.built++;
      return this.stepsUntil(deadline);
    });
  }

  private *stepsUntil(deadline: Deadline): WaitSteps<void> {
    for (;;) {
      if (Atomics.load(this.i32, VALUE) === 1) return;
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('TestFlag wait', deadline.timeout);
      yield { index: VALUE, expected: 0, timeout: left };
    }
  }
}

describe('SharedPrimitive', () => {
  it('gives a subclass from, attach and a handle named after its tag, and publishes the tag last', () => {
    const f = new TestFlag();
    expect(f.handle.type).toBe('TestFlag');
    expect(f.memory.byteLength).toBe(TestFlag.SIZE);
    expect(Atomics.load(f.memory.int32(), 0)).toBe(FLAG_TAG);
    const g = TestFlag.from(f.handle);
    expect(g).toBeInstanceOf(TestFlag);
    g.set();
    expect(TestFlag.attach(f.memory)).toBeInstanceOf(TestFlag);
    expect(() => g.wait(0)).not.toThrow();
  });

  it('places the object in a given region, refusing one that is too small', () => {
    const sab = new SharedArrayBuffer(64);
    const f = new TestFlag({ region: new Region(sab, 16, TestFlag.SIZE) });
    expect(new Int32Array(sab, 16, 1)[0]).toBe(FLAG_TAG);
    expect(f.memory.byteOffset).toBe(16);
    expect(() => new TestFlag({ region: new Region(sab, 0, 4) })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('refuses, with INCOMPATIBLE, memory not initialised yet, a short region and another type handle', () => {
    expect(() => TestFlag.attach(Region.allocate(8))).toThrowError(/not initialised yet/);
    expect(() => TestFlag.attach(Region.allocate(4))).toThrowError(
      expect.objectContaining({ code: 'INCOMPATIBLE' }),
    );
    const h = { ...new TestFlag().handle, type: 'Mutex' };
    expect(() => TestFlag.from(h)).toThrowError(expect.objectContaining({ code: 'INCOMPATIBLE' }));
  });

  it('says what went wrong when from is called without its class', () => {
    // TypeScript refuses this call (no `this`); plain JavaScript gets a clear error, not a TypeError.
    const from = TestFlag.from as unknown as (h: unknown) => unknown;
    expect(() => from(new TestFlag().handle)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/on the class/) }),
    );
  });
});

describe('waitStepsAsync', () => {
  it('rejects a bad option before building the steps, and an argument error before ABORTED', async () => {
    const f = new TestFlag();
    await expect(f.waitAsync({ timeout: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(f.built).toBe(0);
    const aborted = AbortSignal.abort('stop');
    const bad = () => {
      throw new RangeError('bad argument');
    };
    await expect(f.waitAsync({ signal: aborted }, bad)).rejects.toThrow('bad argument');
    await expect(f.waitAsync({ signal: aborted })).rejects.toMatchObject({ code: 'ABORTED', cause: 'stop' });
  });

  it('settles through ready, after the abort check and before any steps are built', async () => {
    const f = new TestFlag();
    const i32 = f.memory.int32();
    let built = 0;
    const build = (d: Deadline) => {
      built++;
      return (function* (): WaitSteps<void> {
        if (Atomics.load(i32, VALUE) === 1) return;
        yield { index: VALUE, expected: 0, timeout: d.remaining() };
      })();
    };
    await expect(waitStepsAsync(f.memory.waiter, i32, undefined, build, () => true)).resolves.toBeUndefined();
    expect(built).toBe(0);
    let tried = 0;
    const aborted = waitStepsAsync(
      f.memory.waiter,
      i32,
      { signal: AbortSignal.abort() },
      build,
      () => ++tried > 0,
    );
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    expect([tried, built]).toEqual([0, 0]);
    const sleeping = waitStepsAsync(f.memory.waiter, i32, { timeout: 10_000 }, build, () => false);
    expect(built).toBe(1);
    f.set();
    await expect(sleeping).resolves.toBeUndefined();
  });

  it('runs the steps until woken, and times out with TIMEOUT', async () => {
    const f = new TestFlag();
    await expect(f.waitAsync({ timeout: 0 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const waiting = f.waitAsync({ timeout: 10_000 });
    f.set();
    await expect(waiting).resolves.toBeUndefined();
    // The free function, as a non-SharedObject (RingBuffer) uses it: the step's answer comes back.
    const i32 = new Int32Array(new SharedArrayBuffer(8));
    const answer = function* (): WaitSteps<string> {
      return yield { index: 1, expected: 5, timeout: 10_000 };
    };
    await expect(waitStepsAsync(f.memory.waiter, i32, undefined, answer)).resolves.toBe('not-equal');
  });
});
