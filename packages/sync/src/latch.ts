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
  Deadline,
  defineTag,
  invalidArgument,
  type Region,
  SharedPrimitive,
  timeoutError,
  validateInteger,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';

/** Latch's type tag: kind 'lt', layout version 1 (bump it with any change to the table above). */
export const LATCH_TAG = defineTag('lt', 'Latch', 1);
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
export class Latch extends SharedPrimitive {
  static readonly SIZE = 8;
  /** The type tag in word 0, checked by from/attach (docs/format.md, "Type tags and layout versions"). */
  static readonly TAG = LATCH_TAG;

  constructor(count: number, o?: { region?: Region }) {
    validateInteger(count, 'count', 0, 0x7fffffff);
    super(o?.region);
    Atomics.store(this.i32, COUNT, count);
    this.publish();
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
    this.runSteps(this.waitSteps(new Deadline(timeout)));
  }

  /** Whether the count is zero now; never blocks. */
  tryWait(): boolean {
    return Atomics.load(this.i32, COUNT) === 0;
  }

  /** The async form of {@link wait}. */
  waitAsync(o?: AsyncWaitOptions): Promise<void> {
    return this.runStepsAsync(
      o,
      (deadline) => this.waitSteps(deadline),
      () => this.tryWait(),
    );
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
