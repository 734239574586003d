import { abortedError } from './deadline.js';
import { invalidArgument } from './errors.js';
import { holdEventLoop } from './keep-alive.js';
import type { Waiter, WaitResult } from './waiter.js';

/**
 * Longest single V8 async wait. A wait that is still wanted after a slice is armed again, so an
 * abandoned (aborted) wait — which V8 cannot cancel — lingers in V8's queue for one slice at most.
 */
const ASYNC_SLICE_MS = 10_000;
/**
 * Longest single blocking wait while this thread has async waits outstanding. Atomics.notify wakes
 * V8's waiters in FIFO order, and this thread's own async waiter cannot run while the thread is
 * blocked: a notify(1) that reaches it would otherwise be lost to the blocked wait until its timeout.
 */
const MIXED_SLICE_MS = 5;

/** Underlying V8 async waits of this thread not yet settled (live or abandoned). */
let outstanding = 0;

/**
 * The waiter for heap SharedArrayBuffers: V8's Atomics.wait / waitAsync / notify.
 *
 * Atomics.wait is allowed on Node's main thread (unlike browsers' main threads); blocking it
 * stalls the event loop, which is why every primitive also has an async form.
 */
export const heapWaiter: Waiter = {
  kind: 'heap',

  wait(i32, index, expected, timeout) {
    if (outstanding === 0 || timeout <= MIXED_SLICE_MS) return Atomics.wait(i32, index, expected, timeout);
    // A slice that ends early is reported as a (spurious) wake-up: callers re-check and loop.
    const r = Atomics.wait(i32, index, expected, MIXED_SLICE_MS);
    return r === 'timed-out' ? 'ok' : r;
  },

  waitAsync(i32, index, expected, timeout, signal) {
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    const end = timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout;
    return new Promise<WaitResult>((resolve, reject) => {
      let settled = false;
      let release: (() => void) | undefined;
      const settle = (v: WaitResult): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        release?.();
        resolve(v);
      };
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        release?.();
        reject(abortedError(signal!));
      };
      const arm = (): void => {
        const left = end === Number.POSITIVE_INFINITY ? end : Math.max(0, end - performance.now());
        const r = Atomics.waitAsync(i32, index, expected, Math.min(left, ASYNC_SLICE_MS));
        if (!r.async) {
          settle(r.value);
          return;
        }
        outstanding++;
        release ??= holdEventLoop();
        void r.value.then((v) => {
          outstanding--;
          if (settled) {
            // V8 cannot cancel a waitAsync: the abandoned waiter stayed in its queue and may have
            // swallowed a notify(1) meant for a live waiter. If it did, wake one more.
            if (v === 'ok') Atomics.notify(i32, index, 1);
            return;
          }
          if (v === 'timed-out' && (end === Number.POSITIVE_INFINITY || performance.now() < end)) arm();
          else settle(v);
        });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  },

  notify(i32, index, count) {
    // As the futex waiter does: Atomics.notify would quietly treat these as 0.
    if (!(count >= 0)) invalidArgument(`notify count must be a non-negative number, got ${String(count)}`);
    return Atomics.notify(i32, index, count === Number.POSITIVE_INFINITY ? undefined : count);
  },
};
