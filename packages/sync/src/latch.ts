/**
 * Latch: a one-shot countdown; waiters go on once it reaches zero.
 *
 * Layout (8 bytes):
 * | offset | size | field   | written by                          |
 * |--------|------|---------|-------------------------------------|
 * | 0      | 4    | tag     | constructor                         |
 * | 4      | 4    | count   | countDown (CAS down, never below 0) |
 *
 * Waiters sleep on `count` itself and only the step to zero wakes them: an intermediate
 * countDown changes the word, so a waiter about to sleep on a stale value returns at once.
 */
import {
  type AsyncWaitOptions,
  attach,
  bindNew,
  Deadline,
  defineTag,
  type Handle,
  invalidArgument,
  publishTag,
  type Region,
  regionFromHandle,
  runAsync,
  runBlocking,
  SharedObject,
  throwIfAborted,
  timeoutError,
  validateAsyncOptions,
  validateInteger,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';

/** Latch's type tag: kind 'lt', layout version 1 (bump it with any change to the table above). */
export const LATCH_TAG = defineTag('lt', 'Latch', 1);
const TAG = LATCH_TAG;
export const COUNT = 1;

/**
 * A countdown latch: `wait()` blocks until `countDown()` has been called `count` times in all.
 * Not reusable (see {@link Barrier} for that).
 *
 * @example
 * ```ts
 * const ready = new Latch(workers.length);   // each worker calls ready.countDown() when set up
 * await ready.waitAsync({ timeout: 5000 });
 * ```
 */
export class Latch extends SharedObject {
  static readonly SIZE = 8;

  constructor(count: number, o?: { region?: Region }) {
    validateInteger(count, 'count', 0, 0x7fffffff);
    super();
    const region = bindNew(this, Latch.SIZE, o?.region);
    Atomics.store(this.i32, COUNT, count);
    publishTag(region, TAG);
  }

  static from(handle: Handle): Latch {
    return Latch.attach(regionFromHandle(handle, 'Latch'));
  }

  static attach(region: Region): Latch {
    return attach(Latch, region, TAG, Latch.SIZE, 'Latch');
  }

  protected get typeName(): string {
    return 'Latch';
  }

  /** Counts still missing (a snapshot). */
  get count(): number {
    return Atomics.load(this.i32, COUNT);
  }

  /** Counts down by `n` (default 1). INVALID_ARGUMENT if that would go below zero. */
  countDown(n = 1): void {
    validateInteger(n, 'n', 1, 0x7fffffff);
    for (;;) {
      const c = Atomics.load(this.i32, COUNT);
      if (n > c) invalidArgument(`countDown(${n}) with only ${c} left`);
      // release: work done before countDown is visible to whoever sees zero.
      if (Atomics.compareExchange(this.i32, COUNT, c, c - n) === c) {
        if (c === n) this.waiter.notify(this.i32, COUNT, Number.POSITIVE_INFINITY);
        return;
      }
    }
  }

  /** Blocks until the count is zero. */
  wait(o?: WaitOptions): void {
    const timeout = validateWaitOptions(o);
    if (Atomics.load(this.i32, COUNT) === 0) return;
    runBlocking(this.waitSteps(new Deadline(timeout)), this.waiter, this.i32);
  }

  /** Whether the count is zero now; never blocks. */
  tryWait(): boolean {
    return Atomics.load(this.i32, COUNT) === 0;
  }

  async waitAsync(o?: AsyncWaitOptions): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    throwIfAborted(signal);
    if (Atomics.load(this.i32, COUNT) === 0) return;
    await runAsync(this.waitSteps(new Deadline(timeout)), this.waiter, this.i32, signal);
  }

  private *waitSteps(deadline: Deadline): WaitSteps<void> {
    for (;;) {
      const c = Atomics.load(this.i32, COUNT);
      if (c === 0) return;
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('Latch wait', deadline.timeout);
      yield { index: COUNT, expected: c, timeout: left };
    }
  }
}
