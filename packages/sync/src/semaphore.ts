/**
 * Semaphore: a counting semaphore with an upper bound and all-or-nothing multi-permit acquire.
 *
 * Layout (16 bytes):
 * | offset | size | field   | written by                                       |
 * |--------|------|---------|--------------------------------------------------|
 * | 0      | 4    | tag     | constructor                                      |
 * | 4      | 4    | value   | acquire (CAS down), release (CAS up)             |
 * | 8      | 4    | waiters | acquirers, around each sleep                     |
 * | 12     | 4    | max     | constructor                                      |
 *
 * `value` only moves by CAS between 0 and `max`, so it never goes negative or past `max`.
 * Acquirers sleep on `value` itself: any release changes it, so a sleeper whose snapshot is stale
 * returns at once. release() wakes every sleeper because they may want different counts: waking
 * only `count` of them could wake one that needs more and leave one that fits asleep.
 */
import {
  type AsyncWaitOptions,
  countedSleep,
  Deadline,
  defineTag,
  invalidArgument,
  type Region,
  SharedPrimitive,
  validateInteger,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';
import { Guard } from './guard.js';

/** Semaphore's type tag: kind 'sm', layout version 1 (bump it with any change to the table above). */
export const SEMAPHORE_TAG = defineTag('sm', 'Semaphore', 1);
export const VALUE = 1;
export const WAITERS = 2;
export const MAX = 3;
const INT32_MAX = 0x7fffffff;

/** Options of {@link Semaphore.acquire}. */
export interface AcquireOptions extends WaitOptions {
  /** Permits to take at once, all or nothing (default 1). */
  count?: number;
}

/**
 * A counting semaphore: at most `value` holders at a time. Limits concurrency across threads
 * (a pool of N connections, N parallel jobs).
 *
 * @example
 * ```ts
 * const slots = new Semaphore(3);            // at most three at once
 * slots.acquire();
 * try { doWork(); } finally { slots.release(); }
 * ```
 */
export class Semaphore extends SharedPrimitive {
  static readonly SIZE = 16;
  /** The type tag in word 0, checked by from/attach (docs/format.md, "Type tags and layout versions"). */
  static readonly TAG = SEMAPHORE_TAG;

  /**
   * @param initial permits available now (0..max)
   * @param o.max upper bound of the count (default 2^31-1); releasing past it is INVALID_ARGUMENT
   */
  constructor(initial: number, o?: { max?: number; region?: Region }) {
    const max = validateInteger(o?.max ?? INT32_MAX, 'max', 1, INT32_MAX);
    validateInteger(initial, 'initial', 0, max);
    super(o?.region);
    Atomics.store(this.i32, VALUE, initial);
    Atomics.store(this.i32, WAITERS, 0);
    Atomics.store(this.i32, MAX, max);
    this.publish();
  }

  /** Permits available now (a snapshot). */
  get value(): number {
    return Atomics.load(this.i32, VALUE);
  }

  /** The upper bound of the count. */
  get max(): number {
    return Atomics.load(this.i32, MAX);
  }

  /** Takes `count` permits (default 1), blocking until they are all available at once. */
  acquire(o?: AcquireOptions): void {
    const timeout = validateWaitOptions(o);
    const count = this.validCount(o?.count);
    if (this.take(count)) return;
    this.runSteps(this.acquireSteps(count, new Deadline(timeout)));
  }

  /** Takes `count` permits if they are all available now; never blocks. */
  tryAcquire(count = 1): boolean {
    return this.take(this.validCount(count));
  }

  /** The async form of {@link acquire}. */
  acquireAsync(o?: AcquireOptions & AsyncWaitOptions): Promise<void> {
    return this.runStepsAsync(
      o,
      (deadline) => this.acquireSteps(this.validCount(o?.count), deadline),
      () => this.take(this.validCount(o?.count)),
    );
  }

  /** Returns `count` permits (default 1). INVALID_ARGUMENT if that would exceed `max`. */
  release(count = 1): void {
    const max = Atomics.load(this.i32, MAX);
    validateInteger(count, 'count', 1, max);
    for (;;) {
      const v = Atomics.load(this.i32, VALUE);
      if (v + count > max) invalidArgument(`release(${count}) would raise the semaphore past its max ${max}`);
      // release: the CAS publishes what the releaser wrote to whoever takes the permit next.
      if (Atomics.compareExchange(this.i32, VALUE, v, v + count) === v) break;
    }
    if (Atomics.load(this.i32, WAITERS) > 0) this.waiter.notify(this.i32, VALUE, Number.POSITIVE_INFINITY);
  }

  /** Acquires, and returns a guard that releases the same count when disposed. */
  enter(o?: AcquireOptions): Guard {
    this.acquire(o);
    const count = o?.count ?? 1;
    return new Guard(() => this.release(count));
  }

  private validCount(count: unknown): number {
    return validateInteger(count ?? 1, 'count', 1, Atomics.load(this.i32, MAX));
  }

  private take(count: number): boolean {
    for (;;) {
      const v = Atomics.load(this.i32, VALUE);
      if (v < count) return false;
      if (Atomics.compareExchange(this.i32, VALUE, v, v - count) === v) return true;
    }
  }

  private *acquireSteps(count: number, deadline: Deadline): WaitSteps<void> {
    for (;;) {
      const v = Atomics.load(this.i32, VALUE);
      if (v >= count) {
        if (Atomics.compareExchange(this.i32, VALUE, v, v - count) === v) return;
        continue;
      }
      yield* countedSleep(this.i32, WAITERS, VALUE, v, deadline, 'Semaphore acquire');
    }
  }
}
