/**
 * Mutex: a futex mutex after Drepper ("Futexes are tricky", mutex3) with the owner stamped into
 * the lock word, as Linux robust futexes do.
 *
 * Layout (8 bytes):
 * | offset | size | field | written by                                                        |
 * |--------|------|-------|-------------------------------------------------------------------|
 * | 0      | 4    | tag   | constructor                                                        |
 * | 4      | 4    | state | 0 = free; else owner token | WAITERS_BIT | INCONSISTENT_BIT; -1 = NOT_RECOVERABLE |
 *
 * Constants: a word index is the field's name (`STATE`), a flag bit of a word ends in `_BIT`
 * (core/layout.ts, on naming).
 *
 * Invariants: only the owner clears the token (unlock) or INCONSISTENT_BIT (consistent());
 * other threads only ever set WAITERS_BIT, by CAS, before sleeping, so an unlock that sees
 * WAITERS_BIT clear may skip the wake-up syscall. A thread woken from sleep acquires with WAITERS_BIT set (it
 * cannot know whether others still sleep): at worst one needless wake-up, never a lost one.
 */
import {
  type AsyncWaitOptions,
  Deadline,
  defineTag,
  FAILPOINT,
  failpoint,
  invalidArgument,
  type Region,
  SharedPrimitive,
  ShmkitError,
  TOKEN_MASK,
  timeoutError,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';
import { Guard } from './guard.js';

/** Mutex's type tag: kind 'mx', layout version 1 (bump it with any change to the table above). */
export const MUTEX_TAG = defineTag('mx', 'Mutex', 1);
export const STATE = 1;
/** Bit of `state`: someone sleeps or is about to, so unlock must wake one. */
export const WAITERS_BIT = 0x40000000;
/** Bit of `state`: the previous owner died holding the mutex (OWNER_DEAD, not yet consistent()). */
export const INCONSISTENT_BIT = 0x20000000;
const NOT_RECOVERABLE = -1;
/** Loads of the lock word before sleeping: a hand-off between two running threads takes ~100 ns. */
const SPINS = 100;

/** Options of a Mutex constructor. */
export interface MutexOptions {
  /** Place the mutex in this region (at least Mutex.SIZE bytes) instead of a fresh buffer. */
  region?: Region;
}

/**
 * A mutual-exclusion lock shared by threads (heap memory) or processes (a segment).
 * Not reentrant: `lock()` by the thread that holds it throws DEADLOCK instead of hanging.
 *
 * Uncontended lock/unlock is one CAS and one exchange, no allocation and no system call.
 * A blocked `lock()` spins briefly, then sleeps; `lockAsync()` sleeps without blocking the
 * event loop. Both kinds of waiter can wait on one mutex.
 *
 * @example
 * ```ts
 * const m = new Mutex();
 * worker.postMessage(m.handle);            // in the worker: const m = Mutex.from(handle)
 * m.withLock(() => { counter[0]++; });
 * { using _ = m.acquire(); counter[0]++; } // unlocked at the end of the block
 * ```
 */
export class Mutex extends SharedPrimitive {
  /** Bytes a Mutex occupies in a region. */
  static readonly SIZE = 8;
  /** The type tag in word 0, checked by from/attach (docs/format.md, "Type tags and layout versions"). */
  static readonly TAG = MUTEX_TAG;

  constructor(o?: MutexOptions) {
    super(o?.region);
    Atomics.store(this.i32, STATE, 0);
    this.publish();
  }

  /**
   * Blocks until the mutex is held by the calling thread. TIMEOUT after `timeout` ms;
   * DEADLOCK if this thread holds it already; OWNER_DEAD if its previous owner died holding it
   * (the caller then holds it: repair the data, call {@link consistent}, then unlock).
   */
  lock(o?: WaitOptions): void {
    const timeout = validateWaitOptions(o);
    const me = this.identity.self();
    // acquire: pairs with the exchange in unlock(); everything the last owner wrote is visible.
    const c = Atomics.compareExchange(this.i32, STATE, 0, me);
    if (c === 0) {
      // Crash window for tests: held, nothing done under it yet (docs/reliability.md).
      if (FAILPOINT !== undefined) failpoint('mutex.after-lock');
      return;
    }
    if (c !== NOT_RECOVERABLE && (c & TOKEN_MASK) === me) {
      throw new ShmkitError('DEADLOCK', 'lock() by the thread that already holds this mutex');
    }
    if (!this.spin(me)) this.runSteps(this.lockSteps(me, new Deadline(timeout)));
    if (FAILPOINT !== undefined) failpoint('mutex.after-lock');
  }

  /** Takes the mutex if it is free; never blocks. */
  tryLock(): boolean {
    const c = Atomics.compareExchange(this.i32, STATE, 0, this.identity.self());
    if (c === NOT_RECOVERABLE) throw notRecoverable();
    if (c === 0 && FAILPOINT !== undefined) failpoint('mutex.after-lock');
    return c === 0;
  }

  /**
   * Resolves once the mutex is held by the calling thread, without blocking the event loop.
   * Rejects with TIMEOUT or ABORTED, leaving the mutex and its waiters as they were.
   * Async tasks of one thread share its ownership: a task may await a mutex another task of the
   * same thread holds, and any of them may unlock it.
   */
  lockAsync(o?: AsyncWaitOptions): Promise<void> {
    const locked = this.runStepsAsync(
      o,
      (deadline) => this.lockSteps(this.identity.self(), deadline),
      // acquire: pairs with the exchange in unlock(), as lock()'s fast path.
      () => Atomics.compareExchange(this.i32, STATE, 0, this.identity.self()) === 0,
    );
    // Not an async method: an uncontended lockAsync settles in the turn it was called.
    return FAILPOINT === undefined ? locked : locked.then(() => failpoint('mutex.after-lock'));
  }

  /** Releases the mutex. NOT_OWNER unless the calling thread holds it. */
  unlock(): void {
    const me = this.identity.self();
    const c = Atomics.load(this.i32, STATE);
    if (c === NOT_RECOVERABLE || c === 0 || (c & TOKEN_MASK) !== me) {
      throw new ShmkitError('NOT_OWNER', 'unlock() of a mutex this thread does not hold');
    }
    if (c & INCONSISTENT_BIT) {
      // POSIX: unlocking an OWNER_DEAD mutex without consistent() makes it permanently unusable.
      Atomics.store(this.i32, STATE, NOT_RECOVERABLE);
      this.waiter.notify(this.i32, STATE, Number.POSITIVE_INFINITY);
      return;
    }
    // release: publishes the critical section to the next owner's CAS; the exchange also
    // catches a WAITERS_BIT set by a thread that went to sleep after our load.
    const prev = Atomics.exchange(this.i32, STATE, 0);
    if (prev & WAITERS_BIT) this.waiter.notify(this.i32, STATE, 1);
  }

  /** Marks the state protected by a mutex whose owner died (OWNER_DEAD) as repaired. */
  consistent(): void {
    const me = this.identity.self();
    for (;;) {
      const c = Atomics.load(this.i32, STATE);
      if (c === NOT_RECOVERABLE) throw notRecoverable();
      if (c === 0 || (c & TOKEN_MASK) !== me) {
        throw new ShmkitError('NOT_OWNER', 'consistent() by a thread that does not hold the mutex');
      }
      if (!(c & INCONSISTENT_BIT)) invalidArgument('consistent(): the mutex is not in the OWNER_DEAD state');
      if (Atomics.compareExchange(this.i32, STATE, c, c & ~INCONSISTENT_BIT) === c) return;
    }
  }

  /**
   * `using m = Mutex.from(handle)`: at the end of the scope, unlocks the mutex if the calling
   * thread still holds it (a scope cannot leak the lock, whatever path left it); otherwise does
   * nothing. The mutex itself stays usable by every other thread and handle. A holder after
   * OWNER_DEAD that did not call consistent() leaves it NOT_RECOVERABLE, as unlock() does.
   *
   * @example
   * ```ts fragment
   * {
   *   using m = Mutex.from(handle);
   *   m.lock();
   *   mayThrow();
   * } // unlocked here, thrown or not
   * ```
   */
  [Symbol.dispose](): void {
    const c = Atomics.load(this.i32, STATE);
    if (c !== 0 && c !== NOT_RECOVERABLE && (c & TOKEN_MASK) === this.identity.self()) this.unlock();
  }

  /** Locks and returns a guard that unlocks when disposed (`using _ = m.acquire()`). */
  acquire(o?: WaitOptions): Guard {
    this.lock(o);
    return new Guard(() => this.unlock());
  }

  /** {@link lockAsync}, then a guard that unlocks when disposed. */
  async acquireAsync(o?: AsyncWaitOptions): Promise<Guard> {
    await this.lockAsync(o);
    return new Guard(() => this.unlock());
  }

  /** Runs `fn` holding the mutex; unlocks even when `fn` throws. */
  withLock<T>(fn: () => T, o?: WaitOptions): T {
    if (typeof fn !== 'function') invalidArgument('withLock needs a function');
    this.lock(o);
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  /** Awaits the mutex, runs (and awaits) `fn`, unlocks even when it rejects. */
  async withLockAsync<T>(fn: () => T | Promise<T>, o?: AsyncWaitOptions): Promise<T> {
    if (typeof fn !== 'function') invalidArgument('withLockAsync needs a function');
    await this.lockAsync(o);
    try {
      return await fn();
    } finally {
      this.unlock();
    }
  }

  /** Whether some thread holds the mutex. A snapshot: it may change right after. */
  get locked(): boolean {
    return Atomics.load(this.i32, STATE) !== 0;
  }

  /** Whether the calling thread holds the mutex (exact for the calling thread). */
  get heldByCurrentThread(): boolean {
    const c = Atomics.load(this.i32, STATE);
    return c !== 0 && c !== NOT_RECOVERABLE && (c & TOKEN_MASK) === this.identity.self();
  }

  private spin(me: number): boolean {
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.load(this.i32, STATE) === 0 && Atomics.compareExchange(this.i32, STATE, 0, me) === 0) {
        return true;
      }
    }
    return false;
  }

  private *lockSteps(me: number, deadline: Deadline): WaitSteps<void> {
    const slice = this.identity.livenessSliceMs;
    for (;;) {
      let c = Atomics.load(this.i32, STATE);
      if (c === NOT_RECOVERABLE) throw notRecoverable();
      if (c === 0) {
        if (Atomics.compareExchange(this.i32, STATE, 0, me | WAITERS_BIT) === 0) return;
        continue;
      }
      if (!(c & WAITERS_BIT)) {
        // Announce a sleeper before sleeping, so the owner's unlock knows to wake someone.
        if (Atomics.compareExchange(this.i32, STATE, c, c | WAITERS_BIT) !== c) continue;
        c |= WAITERS_BIT;
      }
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('Mutex lock', deadline.timeout);
      const r = yield { index: STATE, expected: c, timeout: Math.min(left, slice) };
      if (r === 'timed-out' && !this.identity.isAlive(c & TOKEN_MASK)) {
        // The owner died holding the lock. Take it over, marked inconsistent; the CAS fails if
        // another survivor got there first, and we go round again.
        if (Atomics.compareExchange(this.i32, STATE, c, me | WAITERS_BIT | INCONSISTENT_BIT) === c) {
          throw new ShmkitError(
            'OWNER_DEAD',
            'the previous owner died holding this mutex: you now hold it; repair the data, call consistent(), then unlock()',
          );
        }
      }
    }
  }
}

function notRecoverable(): ShmkitError {
  return new ShmkitError(
    'NOT_RECOVERABLE',
    'this mutex was unlocked after OWNER_DEAD without consistent() and can no longer be used',
  );
}
