/**
 * Barrier: `parties` threads meet, then all go on; reusable generation after generation.
 *
 * Layout (16 bytes):
 * | offset | size | field      | written by                                                   |
 * |--------|------|------------|--------------------------------------------------------------|
 * | 0      | 4    | tag        | constructor                                                  |
 * | 4      | 4    | parties    | constructor                                                  |
 * | 8      | 4    | state      | (generation & 0xffff) << 16 | arrived; by CAS                 |
 * | 12     | 4    | generation | the leader adds 1 after closing a generation; waiters sleep on it |
 *
 * Arrival, withdrawal (timeout, abort) and the leader's "everybody is here, reset" are each one
 * CAS on `state`; the generation in its high half makes a withdrawal that races with the leader
 * fail instead of corrupting the next generation's count.
 */
import {
  type AsyncWaitOptions,
  Deadline,
  defineTag,
  type Region,
  SharedPrimitive,
  timeoutError,
  validateInteger,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';

/** Barrier's type tag: kind 'br', layout version 1 (bump it with any change to the table above). */
export const BARRIER_TAG = defineTag('br', 'Barrier', 1);
export const PARTIES = 1;
export const STATE = 2;
export const GENERATION = 3;
/**
 * Bits of `state` counting arrivals (its high 16 bits hold the generation, masked the same way);
 * also the most parties a Barrier takes.
 */
export const ARRIVED_MASK = 0xffff;

/**
 * A reusable barrier for `parties` threads. Each `wait()` blocks until all parties have arrived;
 * exactly one of them (the last to arrive) gets `true`, the leader of that generation.
 * A wait that times out or is aborted withdraws its arrival, as if it had never come.
 *
 * @example
 * ```ts
 * const b = new Barrier(4);           // post b.handle to three workers
 * for (const step of steps) { compute(step); if (b.wait()) mergeResults(); }
 * ```
 */
export class Barrier extends SharedPrimitive {
  static readonly SIZE = 16;
  /** The type tag in word 0, checked by from/attach (docs/format.md, "Type tags and layout versions"). */
  static readonly TAG = BARRIER_TAG;

  /** @param parties threads that meet each generation, 1..65535 */
  constructor(parties: number, o?: { region?: Region }) {
    validateInteger(parties, 'parties', 1, ARRIVED_MASK);
    super(o?.region);
    Atomics.store(this.i32, PARTIES, parties);
    Atomics.store(this.i32, STATE, 0);
    Atomics.store(this.i32, GENERATION, 0);
    this.publish();
  }

  get parties(): number {
    return Atomics.load(this.i32, PARTIES);
  }

  /** Generations completed so far (wraps at 2^32). */
  get generation(): number {
    return Atomics.load(this.i32, GENERATION) >>> 0;
  }

  /** Blocks until all parties arrived; true for exactly one of them per generation. */
  wait(o?: WaitOptions): boolean {
    const timeout = validateWaitOptions(o);
    return this.runSteps(this.waitSteps(new Deadline(timeout)));
  }

  /** The async form of {@link wait}. */
  waitAsync(o?: AsyncWaitOptions): Promise<boolean> {
    return this.runStepsAsync(o, (deadline) => this.waitSteps(deadline));
  }

  private *waitSteps(deadline: Deadline): WaitSteps<boolean> {
    const parties = Atomics.load(this.i32, PARTIES);
    let mine: number;
    for (;;) {
      const s = Atomics.load(this.i32, STATE);
      const g = s >>> 16;
      if ((s & ARRIVED_MASK) + 1 === parties) {
        // Leader: close this generation, then release everyone. The CAS on state is what the
        // others test; the generation word only exists to sleep on.
        if (Atomics.compareExchange(this.i32, STATE, s, ((g + 1) & ARRIVED_MASK) << 16) !== s) continue;
        Atomics.add(this.i32, GENERATION, 1);
        this.waiter.notify(this.i32, GENERATION, Number.POSITIVE_INFINITY);
        return true;
      }
      if (Atomics.compareExchange(this.i32, STATE, s, s + 1) === s) {
        mine = g;
        break;
      }
    }
    // Our generation cannot close without us, so `state`'s generation moves at most one step
    // past `mine` while we are counted in it: no ABA on the 16-bit generation.
    let done = false;
    try {
      for (;;) {
        // Read the word we sleep on before testing: the leader changes state first, then bumps
        // the generation word, so a close after this load makes the sleep return at once.
        const gw = Atomics.load(this.i32, GENERATION);
        if (Atomics.load(this.i32, STATE) >>> 16 !== mine) {
          done = true;
          return false;
        }
        const remaining = deadline.remaining();
        if (remaining === 0) {
          if (this.withdraw(mine)) {
            done = true;
            throw timeoutError('Barrier wait', deadline.timeout);
          }
          continue; // the generation closed while we were timing out: we passed
        }
        try {
          yield { index: GENERATION, expected: gw, timeout: remaining };
        } catch (e) {
          // Aborted: take our arrival back; if the generation closed meanwhile we were counted
          // in it, so we passed, as the timeout path does.
          done = true;
          if (this.withdraw(mine)) throw e;
          return false;
        }
      }
    } finally {
      if (!done) this.withdraw(mine);
    }
  }

  /** Removes one arrival from generation `g`; false if that generation has already closed. */
  private withdraw(g: number): boolean {
    for (;;) {
      const s = Atomics.load(this.i32, STATE);
      if (s >>> 16 !== g) return false;
      if (Atomics.compareExchange(this.i32, STATE, s, s - 1) === s) return true;
    }
  }
}
