/**
 * Condition: a condition variable over a sequence word.
 *
 * Layout (16 bytes):
 * | offset | size | field   | written by                                            |
 * |--------|------|---------|-------------------------------------------------------|
 * | 0      | 4    | tag     | constructor                                           |
 * | 4      | 4    | seq     | notify() adds 1 (only when someone waits)             |
 * | 8      | 4    | waiters | wait() adds 1 before reading seq, subtracts 1 after   |
 *
 * No lost wake-ups: a waiter registers in `waiters`, then reads `seq`, then unlocks the mutex and
 * sleeps only while `seq` still has the value it read. A notify that comes after the unlock sees
 * the waiter registered, bumps `seq`, and either wakes the sleeper or makes its sleep return at
 * once. (esfx's condition can lose a wake-up here; this one cannot.)
 */
import {
  type AsyncWaitOptions,
  Deadline,
  defineTag,
  invalidArgument,
  type Region,
  SharedPrimitive,
  ShmkitError,
  validateAsyncOptions,
  validateWaitOptions,
  type WaitOptions,
} from '@shmkit/core';
import { Mutex } from './mutex.js';

/** Condition's type tag: kind 'cv', layout version 1 (bump it with any change to the table above). */
export const CONDITION_TAG = defineTag('cv', 'Condition', 1);
export const SEQ = 1;
export const WAITERS = 2;

/**
 * A condition variable used with a {@link Mutex}: wait for a predicate over shared data that other
 * threads change under the same mutex. Wake-ups can be spurious: wait in a loop, or use waitFor.
 *
 * @example
 * ```ts
 * // consumer                                   // producer
 * m.lock();                                     m.withLock(() => { queue.push(x); });
 * cond.waitFor(m, () => queue.length > 0);      cond.notify(1);
 * const x = queue.shift(); m.unlock();
 * ```
 */
export class Condition extends SharedPrimitive {
  static readonly SIZE = 16;
  /** The type tag in word 0, checked by from/attach (docs/format.md, "Type tags and layout versions"). */
  static readonly TAG = CONDITION_TAG;

  constructor(o?: { region?: Region }) {
    super(o?.region);
    Atomics.store(this.i32, SEQ, 0);
    Atomics.store(this.i32, WAITERS, 0);
    this.publish();
  }

  /**
   * Unlocks `m`, sleeps until notified (or spuriously woken) or `timeout` ms pass, and locks `m`
   * again before returning, whatever happened. Returns false when the time ran out.
   * NOT_OWNER unless the calling thread holds `m`.
   */
  wait(m: Mutex, o?: WaitOptions): boolean {
    const timeout = validateWaitOptions(o);
    const seq = this.enter(m);
    let result: string;
    try {
      m.unlock();
      result = this.waiter.wait(this.i32, SEQ, seq, timeout);
    } finally {
      Atomics.sub(this.i32, WAITERS, 1);
      m.lock();
    }
    return result !== 'timed-out';
  }

  /**
   * Waits until `pred()` is true (checked with `m` held) or the time runs out; returns the last
   * value of `pred()`. `m` is held on return.
   */
  waitFor(m: Mutex, pred: () => boolean, o?: WaitOptions): boolean {
    const deadline = new Deadline(validateWaitOptions(o));
    if (typeof pred !== 'function') invalidArgument('waitFor needs a predicate function');
    while (!pred()) {
      const left = deadline.remaining();
      if (left === 0 || !this.wait(m, { timeout: left })) return pred();
    }
    return true;
  }

  /**
   * The async form of {@link wait}: the event loop keeps running while it sleeps. Re-locks `m`
   * (with lockAsync) before settling; on abort it re-locks, then rejects with ABORTED.
   */
  async waitAsync(m: Mutex, o?: AsyncWaitOptions): Promise<boolean> {
    const { timeout, signal } = validateAsyncOptions(o);
    const seq = this.enter(m);
    let result: string;
    try {
      m.unlock();
      result = await this.waiter.waitAsync(this.i32, SEQ, seq, timeout, signal);
    } finally {
      Atomics.sub(this.i32, WAITERS, 1);
      await m.lockAsync();
    }
    return result !== 'timed-out';
  }

  /** The async form of {@link waitFor}. */
  async waitForAsync(m: Mutex, pred: () => boolean, o?: AsyncWaitOptions): Promise<boolean> {
    const { timeout, signal } = validateAsyncOptions(o);
    if (typeof pred !== 'function') invalidArgument('waitForAsync needs a predicate function');
    const deadline = new Deadline(timeout);
    while (!pred()) {
      const left = deadline.remaining();
      if (left === 0 || !(await this.waitAsync(m, { timeout: left, signal }))) return pred();
    }
    return true;
  }

  /**
   * Wakes up to `count` waiters (default: all); returns how many were sleeping and woke. Costs
   * nothing when nobody waits. Call it after changing the shared state, with or without `m` held.
   */
  notify(count: number = Number.POSITIVE_INFINITY): number {
    if (count !== Number.POSITIVE_INFINITY && !(Number.isInteger(count) && count >= 0)) {
      invalidArgument(`notify count must be a non-negative integer or Infinity, got ${count}`);
    }
    if (Atomics.load(this.i32, WAITERS) === 0 || count === 0) return 0;
    // Pairs with the seq load in enter(): a waiter that has not gone to sleep yet sees the new
    // value and returns at once instead of sleeping through this notify.
    Atomics.add(this.i32, SEQ, 1);
    return this.waiter.notify(this.i32, SEQ, count);
  }

  /** Number of threads inside wait (a snapshot). */
  get waiting(): number {
    return Atomics.load(this.i32, WAITERS);
  }

  private enter(m: Mutex): number {
    if (!(m instanceof Mutex)) invalidArgument('Condition.wait needs a Mutex');
    if (!m.heldByCurrentThread) {
      throw new ShmkitError('NOT_OWNER', 'Condition.wait needs the mutex held by the calling thread');
    }
    // Register before reading seq: a notify that misses the registration happened before it,
    // and so before this wait began.
    Atomics.add(this.i32, WAITERS, 1);
    return Atomics.load(this.i32, SEQ);
  }
}
