import {
  type AsyncWaitOptions,
  Deadline,
  throwIfAborted,
  timeoutError,
  validateAsyncOptions,
} from './deadline.js';
import type { Waiter, WaitResult } from './waiter.js';

/**
 * One sleep an algorithm asks for: "block while word `index` still equals `expected`, at most
 * `timeout` ms". The driver answers with the WaitResult.
 */
export interface WaitStep {
  readonly index: number;
  readonly expected: number;
  readonly timeout: number;
}

/** @deprecated The former name of {@link WaitStep}; kept for one release. */
export type Sleep = WaitStep;

/**
 * A blocking algorithm written once as a generator that yields each sleep it needs. The same
 * generator runs blocking ({@link runBlocking}) or async ({@link runAsync}), so the lock-free
 * fast paths and the wake-up protocol are not written twice. The generator owns its clean-up:
 * abort is delivered with `throw()` at the yield, so its `finally` blocks undo waiter counts.
 */
export type WaitSteps<T> = Generator<WaitStep, T, WaitResult>;

/**
 * One sleep on word `index` while it still equals `expected`, counted in word `sleepers` for as
 * long as it lasts, so that a waker may skip the notify (a system call for futex memory) while
 * that count is 0. The count is taken back however the sleep ends: woken, timed out, or aborted
 * (the abort is thrown in at the yield, so the `finally` runs). Throws TIMEOUT naming `what` once
 * `deadline` has passed, instead of sleeping. Use it with `yield*`; returns the wait's result.
 *
 * The waker must change `index` before it reads `sleepers` (both sequentially consistent), so a
 * sleeper counted too late for the waker to see still finds `index` changed and does not sleep.
 *
 * @example
 * ```ts fragment
 * const seq = Atomics.load(i32, READ_SEQ);        // before testing the condition
 * if (this.tryReadLock()) return;
 * yield* countedSleep(i32, READ_SLEEPERS, READ_SEQ, seq, deadline, 'RwLock readLock');
 * ```
 */
export function* countedSleep(
  i32: Int32Array,
  sleepers: number,
  index: number,
  expected: number,
  deadline: Deadline,
  what: string,
): WaitSteps<WaitResult> {
  const timeout = deadline.remaining();
  if (timeout === 0) throw timeoutError(what, deadline.timeout);
  Atomics.add(i32, sleepers, 1);
  try {
    return yield { index, expected, timeout };
  } finally {
    Atomics.sub(i32, sleepers, 1);
  }
}

/** Runs `steps`, sleeping with `waiter.wait`. */
export function runBlocking<T>(steps: WaitSteps<T>, waiter: Waiter, i32: Int32Array): T {
  let r = steps.next();
  while (!r.done) {
    const s = r.value;
    r = steps.next(waiter.wait(i32, s.index, s.expected, s.timeout));
  }
  return r.value;
}

/** Runs `steps`, sleeping with `waiter.waitAsync`; an abort is thrown into the generator. */
export function runAsync<T>(
  steps: WaitSteps<T>,
  waiter: Waiter,
  i32: Int32Array,
  signal: AbortSignal | undefined,
): Promise<T> {
  let first: IteratorResult<WaitStep, T>;
  try {
    first = steps.next();
  } catch (e) {
    return Promise.reject(e);
  }
  return sleepThrough(steps, first, waiter, i32, signal);
}

/** The loop of {@link runAsync}, from a step already taken. */
async function sleepThrough<T>(
  steps: WaitSteps<T>,
  first: IteratorResult<WaitStep, T>,
  waiter: Waiter,
  i32: Int32Array,
  signal: AbortSignal | undefined,
): Promise<T> {
  let r = first;
  while (!r.done) {
    const s = r.value;
    let result: WaitResult;
    try {
      result = await waiter.waitAsync(i32, s.index, s.expected, s.timeout, signal);
    } catch (e) {
      r = steps.throw(e);
      continue;
    }
    r = steps.next(result);
  }
  return r.value;
}

/**
 * The async entry of a wait written as steps, in the order every async method keeps: validates
 * `o` (INVALID_ARGUMENT), builds the steps for its deadline (the caller checks its own arguments
 * there), rejects with ABORTED if the signal has already fired, then runs them with
 * {@link runAsync}. Any of these failures is a rejection, never a synchronous throw. A wait whose
 * first step needs no sleep settles without an async function in between.
 *
 * A wait with a cheap lock-free attempt (an uncontended CAS) passes it as `ready`: it runs after
 * the validation and the abort check, and when it succeeds the wait resolves before any steps or
 * deadline are built (measured: they cost an uncontended Mutex lockAsync with a timeout 2x).
 * `build` then runs only when `ready` failed, after the abort check.
 *
 * @example
 * ```ts fragment
 * popAsync(out: Float32Array, o?: AsyncWaitOptions): Promise<number> {
 *   return waitStepsAsync(heapWaiter, this.ctl, o, (d) => this.popSteps(out, this.checkMin(o), d));
 * }
 * lockAsync(o?: AsyncWaitOptions): Promise<void> {
 *   return waitStepsAsync(this.waiter, this.i32, o, (d) => this.lockSteps(d), () => this.tryLock());
 * }
 * ```
 */
export function waitStepsAsync(
  waiter: Waiter,
  i32: Int32Array,
  o: AsyncWaitOptions | undefined,
  build: (deadline: Deadline) => WaitSteps<void>,
  ready: () => boolean,
): Promise<void>;
export function waitStepsAsync<T>(
  waiter: Waiter,
  i32: Int32Array,
  o: AsyncWaitOptions | undefined,
  build: (deadline: Deadline) => WaitSteps<T>,
): Promise<T>;
export function waitStepsAsync<T>(
  waiter: Waiter,
  i32: Int32Array,
  o: AsyncWaitOptions | undefined,
  build: (deadline: Deadline) => WaitSteps<T>,
  ready?: () => boolean,
): Promise<T> {
  try {
    const { timeout, signal } = validateAsyncOptions(o);
    let steps: WaitSteps<T>;
    if (ready === undefined) {
      steps = build(new Deadline(timeout));
      throwIfAborted(signal);
    } else {
      throwIfAborted(signal);
      if (ready()) return Promise.resolve(undefined as T);
      steps = build(new Deadline(timeout));
    }
    const first = steps.next();
    return first.done ? Promise.resolve(first.value) : sleepThrough(steps, first, waiter, i32, signal);
  } catch (e) {
    return Promise.reject(e);
  }
}
