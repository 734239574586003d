/**
 * RwLock: many readers or one writer, writer-preferring.
 *
 * Layout (32 bytes):
 * | offset | size | field          | written by                                             |
 * |--------|------|----------------|--------------------------------------------------------|
 * | 0      | 4    | tag            | constructor                                            |
 * | 4      | 4    | state          | readers count (READERS_MASK) | WRITER_BIT; by CAS   |
 * | 8      | 4    | writersWaiting | writers between entering writeLock and acquiring it    |
 * | 12     | 4    | writer         | token of the writer holding the lock (0: none)         |
 * | 16     | 4    | readSeq        | bumped to wake readers                                 |
 * | 20     | 4    | readSleepers   | readers around each sleep                              |
 * | 24     | 4    | writeSeq       | bumped to wake writers                                 |
 * | 28     | 4    | writeSleepers  | writers around each sleep                              |
 *
 * Writer preference: a reader does not enter while `writersWaiting > 0`, so a stream of readers
 * cannot starve a writer; the writer gets in once the readers already inside leave. Readers are
 * woken when the last waiting writer is gone (unlocked, timed out or aborted).
 *
 * Sleepers wait on a sequence word, not on `state`: their reason to sleep involves two words
 * (`state` and `writersWaiting`), and a seq read before checking both, bumped after every change
 * that could admit them, turns any change in between into an immediate return instead of a
 * missed wake-up.
 */
import {
  type AsyncWaitOptions,
  countedSleep,
  Deadline,
  defineTag,
  type Region,
  SharedPrimitive,
  ShmkitError,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';
import { Guard } from './guard.js';

/** RwLock's type tag: kind 'rw', layout version 1 (bump it with any change to the table above). */
export const RWLOCK_TAG = defineTag('rw', 'RwLock', 1);
export const STATE = 1;
export const WRITERS_WAITING = 2;
export const WRITER_TOKEN = 3;
export const READ_SEQ = 4;
export const READ_SLEEPERS = 5;
export const WRITE_SEQ = 6;
export const WRITE_SLEEPERS = 7;
/** Bit of `state`: a writer holds the lock. */
export const WRITER_BIT = 0x40000000;
/** Bits of `state` holding the number of readers inside. */
export const READERS_MASK = 0x3fffffff;

/**
 * A readers-writer lock: any number of readers at once, or one writer alone.
 * Not reentrant: a thread holding a read lock must not ask for another while a writer may be
 * waiting (it would wait behind that writer, which waits for it), and a writer asking again gets
 * DEADLOCK.
 *
 * @example
 * ```ts
 * const rw = new RwLock();
 * const total = rw.read(() => table.reduce((a, b) => a + b, 0));
 * rw.write(() => { table[3] = 7; });
 * ```
 */
export class RwLock extends SharedPrimitive {
  static readonly SIZE = 32;
  /** The type tag in word 0, checked by from/attach (docs/format.md, "Type tags and layout versions"). */
  static readonly TAG = RWLOCK_TAG;

  constructor(o?: { region?: Region }) {
    super(o?.region);
    for (let i = 1; i < 8; i++) Atomics.store(this.i32, i, 0);
    this.publish();
  }

  /** Blocks until the calling thread shares the lock with other readers. */
  readLock(o?: WaitOptions): void {
    const timeout = validateWaitOptions(o);
    if (this.tryReadLock()) return;
    this.checkNotWriter();
    this.runSteps(this.readSteps(new Deadline(timeout)));
  }

  /** Takes a read lock if no writer holds or waits for the lock; never blocks. */
  tryReadLock(): boolean {
    for (;;) {
      const s = Atomics.load(this.i32, STATE);
      if (s & WRITER_BIT || Atomics.load(this.i32, WRITERS_WAITING) > 0) return false;
      // acquire: pairs with the release in writeUnlock; the last writer's data is visible.
      if (Atomics.compareExchange(this.i32, STATE, s, s + 1) === s) return true;
    }
  }

  /** The async form of {@link readLock}. */
  readLockAsync(o?: AsyncWaitOptions): Promise<void> {
    return this.runStepsAsync(
      o,
      (deadline) => this.readSteps(deadline),
      () => this.tryReadLock(),
    );
  }

  /** Releases a read lock. NOT_OWNER when no reader holds the lock. */
  readUnlock(): void {
    let s: number;
    for (;;) {
      s = Atomics.load(this.i32, STATE);
      if ((s & READERS_MASK) === 0) throw new ShmkitError('NOT_OWNER', 'readUnlock() with no read lock held');
      if (Atomics.compareExchange(this.i32, STATE, s, s - 1) === s) break;
    }
    if ((s & READERS_MASK) === 1 && Atomics.load(this.i32, WRITERS_WAITING) > 0) this.wakeWriter();
  }

  /** Blocks until the calling thread holds the lock alone. DEADLOCK if it already does. */
  writeLock(o?: WaitOptions): void {
    const timeout = validateWaitOptions(o);
    const me = this.identity.self();
    if (this.tryWriteLock()) return;
    this.checkNotWriter();
    this.runSteps(this.writeSteps(me, new Deadline(timeout)));
  }

  /** Takes the write lock if nobody holds the lock; never blocks. */
  tryWriteLock(): boolean {
    if (Atomics.compareExchange(this.i32, STATE, 0, WRITER_BIT) !== 0) return false;
    Atomics.store(this.i32, WRITER_TOKEN, this.identity.self());
    return true;
  }

  /** The async form of {@link writeLock}. */
  writeLockAsync(o?: AsyncWaitOptions): Promise<void> {
    return this.runStepsAsync(
      o,
      (deadline) => this.writeSteps(this.identity.self(), deadline),
      () => this.tryWriteLock(),
    );
  }

  /** Releases the write lock. NOT_OWNER unless the calling thread holds it. */
  writeUnlock(): void {
    const s = Atomics.load(this.i32, STATE);
    if (!(s & WRITER_BIT) || Atomics.load(this.i32, WRITER_TOKEN) !== this.identity.self()) {
      throw new ShmkitError('NOT_OWNER', 'writeUnlock() by a thread that does not hold the write lock');
    }
    Atomics.store(this.i32, WRITER_TOKEN, 0);
    // release: publishes the writer's data to the next reader's or writer's CAS on state.
    Atomics.store(this.i32, STATE, 0);
    if (Atomics.load(this.i32, WRITERS_WAITING) > 0) this.wakeWriter();
    else this.wakeReaders();
  }

  /**
   * `using rw = RwLock.from(handle)`: at the end of the scope, releases the write lock if the
   * calling thread holds it; otherwise does nothing. Read locks are anonymous (a count), so they
   * cannot be told apart by thread: release them with readUnlock() or an acquireRead() guard.
   */
  [Symbol.dispose](): void {
    const s = Atomics.load(this.i32, STATE);
    if (s & WRITER_BIT && Atomics.load(this.i32, WRITER_TOKEN) === this.identity.self()) this.writeUnlock();
  }

  /** Runs `fn` under a read lock. */
  read<T>(fn: () => T, o?: WaitOptions): T {
    this.readLock(o);
    try {
      return fn();
    } finally {
      this.readUnlock();
    }
  }

  /** Runs `fn` under the write lock. */
  write<T>(fn: () => T, o?: WaitOptions): T {
    this.writeLock(o);
    try {
      return fn();
    } finally {
      this.writeUnlock();
    }
  }

  /** Read-locks and returns a guard that read-unlocks when disposed. */
  acquireRead(o?: WaitOptions): Guard {
    this.readLock(o);
    return new Guard(() => this.readUnlock());
  }

  /** Write-locks and returns a guard that write-unlocks when disposed. */
  acquireWrite(o?: WaitOptions): Guard {
    this.writeLock(o);
    return new Guard(() => this.writeUnlock());
  }

  /** Readers inside now (a snapshot). */
  get readers(): number {
    return Atomics.load(this.i32, STATE) & READERS_MASK;
  }

  /** Whether a writer holds the lock (a snapshot). */
  get writeLocked(): boolean {
    return (Atomics.load(this.i32, STATE) & WRITER_BIT) !== 0;
  }

  private checkNotWriter(): void {
    if (this.writeLocked && Atomics.load(this.i32, WRITER_TOKEN) === this.identity.self()) {
      throw new ShmkitError('DEADLOCK', 'this thread already holds the write lock');
    }
  }

  private wakeWriter(): void {
    Atomics.add(this.i32, WRITE_SEQ, 1);
    if (Atomics.load(this.i32, WRITE_SLEEPERS) > 0) this.waiter.notify(this.i32, WRITE_SEQ, 1);
  }

  private wakeReaders(): void {
    Atomics.add(this.i32, READ_SEQ, 1);
    if (Atomics.load(this.i32, READ_SLEEPERS) > 0) {
      this.waiter.notify(this.i32, READ_SEQ, Number.POSITIVE_INFINITY);
    }
  }

  private *readSteps(deadline: Deadline): WaitSteps<void> {
    for (;;) {
      // Read the seq before testing: any change that could admit us bumps it afterwards.
      const seq = Atomics.load(this.i32, READ_SEQ);
      if (this.tryReadLock()) return;
      yield* countedSleep(this.i32, READ_SLEEPERS, READ_SEQ, seq, deadline, 'RwLock readLock');
    }
  }

  private *writeSteps(me: number, deadline: Deadline): WaitSteps<void> {
    Atomics.add(this.i32, WRITERS_WAITING, 1);
    let acquired = false;
    try {
      for (;;) {
        const seq = Atomics.load(this.i32, WRITE_SEQ);
        if (Atomics.compareExchange(this.i32, STATE, 0, WRITER_BIT) === 0) {
          Atomics.store(this.i32, WRITER_TOKEN, me);
          acquired = true;
          return;
        }
        yield* countedSleep(this.i32, WRITE_SLEEPERS, WRITE_SEQ, seq, deadline, 'RwLock writeLock');
      }
    } finally {
      // Leaving without the lock (timeout, abort) must not keep readers out: the last waiting
      // writer to leave lets them in. A writer that acquired wakes them at writeUnlock instead.
      if (Atomics.sub(this.i32, WRITERS_WAITING, 1) === 1 && !acquired) this.wakeReaders();
    }
  }
}
