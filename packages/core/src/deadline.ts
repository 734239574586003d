import { invalidArgument, ShmkitError } from './errors.js';

/** Options of every blocking method. `timeout` is in milliseconds; the default waits forever. */
export interface WaitOptions {
  timeout?: number;
}

/** Options of every async method: a timeout and an AbortSignal that rejects the wait with ABORTED. */
export interface AsyncWaitOptions extends WaitOptions {
  signal?: AbortSignal;
}

/**
 * Validates a `timeout` option: undefined means Infinity; anything but a non-negative number
 * (NaN, negative, a string) is INVALID_ARGUMENT. Called before any fast path, so a bad option is
 * reported even when no wait would have been needed.
 */
export function validateTimeout(timeout: unknown): number {
  if (timeout === undefined) return Number.POSITIVE_INFINITY;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    invalidArgument(`timeout must be a non-negative number of milliseconds, got ${describe(timeout)}`);
  }
  return timeout;
}

/** Validates an options bag of a blocking method; returns its timeout. */
export function validateWaitOptions(o: WaitOptions | undefined): number {
  if (o === undefined) return Number.POSITIVE_INFINITY;
  if (typeof o !== 'object' || o === null) invalidArgument(`options must be an object, got ${describe(o)}`);
  return validateTimeout(o.timeout);
}

/** Validates an options bag of an async method; returns its timeout and signal. */
export function validateAsyncOptions(o: AsyncWaitOptions | undefined): {
  timeout: number;
  signal: AbortSignal | undefined;
} {
  const timeout = validateWaitOptions(o);
  const signal = o?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    invalidArgument(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return { timeout, signal };
}

/** The error an aborted wait rejects with; keeps the signal's reason as `cause`. */
export function abortedError(signal: AbortSignal): ShmkitError {
  return new ShmkitError('ABORTED', 'the wait was aborted', { cause: signal.reason });
}

/** Throws ABORTED when the signal has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** The error a wait that ran out of time throws. */
export function timeoutError(what: string, timeout: number): ShmkitError {
  return new ShmkitError('TIMEOUT', `${what} timed out after ${timeout} ms`);
}

/**
 * A point in time after which a wait gives up. Waits loop over spurious wake-ups, so each
 * iteration asks for the time left rather than reusing the original timeout.
 */
export class Deadline {
  private readonly end: number;

  constructor(readonly timeout: number) {
    this.end = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
  }

  /** Milliseconds left, never negative; Infinity for an unbounded wait. */
  remaining(): number {
    if (this.end === Number.POSITIVE_INFINITY) return this.end;
    return Math.max(0, this.end - performance.now());
  }

  expired(): boolean {
    return this.remaining() === 0;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return v === null ? 'null' : typeof v;
}
