/**
 * The sleep/wake protocol of the channel's rings, written once: a waiter spins, then sleeps on a
 * futex-style "signal" word; a publisher wakes it only when someone sleeps, so the fast path
 * never makes a system call.
 *
 * Words (two per direction, on their own cache line): `signal`, a counter that publishers bump
 * before notifying, and `sleepers`, how many waiters are (about to be) asleep on it.
 *
 * Waiter:                                   Publisher:
 *   s = load(signal)                           publish (a seq-cst store: tail, head, a state word)
 *   try -> done                                if load(sleepers) != 0:
 *   add(sleepers, 1)                             add(signal, 1); notify(signal)
 *   try -> done (then sub(sleepers, 1))
 *   wait(signal, expected = s)
 *   sub(sleepers, 1)
 *
 * Why no wake-up is lost: every step above is a sequentially consistent Atomics operation, so
 * the waiter's `add(sleepers)` and the publisher's publish are ordered one way or the other. If the
 * publish comes first, the waiter's second try (after its add) sees it. If the add comes first,
 * the publisher's load of `sleepers` sees it, bumps `signal` and notifies; the waiter then either
 * has not slept yet — and `wait` returns at once because `signal` no longer equals `s` — or is
 * asleep and is woken. Reading `s` before the first try is what makes the bump visible.
 *
 * Spinning: waking a sleeper costs a system call on each side (tens of microseconds here), while
 * a peer running on another core answers within a few: a waiter first retries for a budget of
 * time. The budget (per Channel object, see {@link SpinPolicy}) stays at its maximum while the
 * peer keeps answering within it; only a run of consecutive misses — the peer is not running, or
 * the cores are oversubscribed — shrinks it, since then spinning only burns the CPU the peer needs.
 * Cost: a waiter burns up to SPIN_MAX_MS of one core per wait that ends in a sleep.
 *
 * Waits sleep in slices of the identity's liveness period (processes), so a waiter notices a peer
 * that died without waking it; `onSlice` runs the repairs (docs/architecture.md, liveness).
 */
import { type Deadline, timeoutError, type Waiter, type WaitSteps } from '@shmkit/core';

/** The most a waiter spins before sleeping, and the least its budget shrinks to. */
export const SPIN_MAX_MS = 0.2;
export const SPIN_MIN_MS = 0.01;
/** Consecutive waits that had to sleep before the spin budget shrinks. */
const MISSES_BEFORE_SHRINK = 8;
/** Tries between two reads of the clock while spinning. */
const SPIN_CHECK = 64;

/** What an attempt returns when it has nothing yet (a unique value, never a message). */
export const NOT_YET: unique symbol = Symbol('not yet');
export type Attempt<R> = () => R | typeof NOT_YET;

/** After publishing: wakes up to `count` sleepers of `signal`, only if one sleeps. */
export function wake(i32: Int32Array, waiter: Waiter, signal: number, sleepers: number, count: number): void {
  // Ordered after the caller's publish (both seq-cst): see the header for why this cannot miss.
  if (Atomics.load(i32, sleepers) !== 0) {
    Atomics.add(i32, signal, 1);
    waiter.notify(i32, signal, count);
  }
}

/** A spin budget that stays high while spinning pays off (see the header). */
export class SpinPolicy {
  budgetMs = SPIN_MAX_MS;
  private misses = 0;

  caught(): void {
    this.misses = 0;
    this.budgetMs = SPIN_MAX_MS;
  }

  missed(): void {
    if (++this.misses >= MISSES_BEFORE_SHRINK) {
      this.misses = 0;
      this.budgetMs = Math.max(SPIN_MIN_MS, this.budgetMs / 2);
    }
  }
}

/** The words and context of one direction of waiting. */
export interface WaitContext {
  readonly i32: Int32Array;
  readonly signal: number;
  readonly sleepers: number;
  /** Liveness slice, ms (Infinity where peers cannot be seen dying). */
  readonly sliceMs: number;
  /** Named in TIMEOUT errors ("Channel recv"). */
  readonly what: string;
}

/**
 * Retries `attempt` until it returns something: spinning within `policy`'s budget, then sleeping
 * as described in the header. After each sleep that timed out (a liveness slice), `onSlice` may
 * repair what a dead peer left and may produce the result itself. TIMEOUT at the deadline.
 */
export function* spinThenSleep<R>(
  c: WaitContext,
  attempt: Attempt<R>,
  deadline: Deadline,
  policy: SpinPolicy,
  onSlice: Attempt<R>,
): WaitSteps<R> {
  const i32 = c.i32;
  for (let i = 1, until = -1; ; i++) {
    const r = attempt();
    if (r !== NOT_YET) {
      policy.caught();
      return r;
    }
    if (i % SPIN_CHECK === 0) {
      const now = performance.now();
      if (until < 0) until = now + Math.min(policy.budgetMs, deadline.remaining());
      else if (now >= until) break;
    }
  }
  policy.missed();
  for (;;) {
    const s = Atomics.load(i32, c.signal);
    let r = attempt();
    if (r !== NOT_YET) return r;
    const left = deadline.remaining();
    if (left === 0) {
      // One last look for a dead peer's leftovers (a descheduled waiter may never have slept).
      r = onSlice();
      if (r !== NOT_YET) return r;
      throw timeoutError(c.what, deadline.timeout);
    }
    Atomics.add(i32, c.sleepers, 1);
    let result: string;
    try {
      r = attempt();
      if (r !== NOT_YET) return r;
      result = yield { index: c.signal, expected: s, timeout: Math.min(left, c.sliceMs) };
    } finally {
      Atomics.sub(i32, c.sleepers, 1);
    }
    if (result === 'timed-out') {
      r = onSlice();
      if (r !== NOT_YET) return r;
    }
  }
}
