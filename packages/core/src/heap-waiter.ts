import { abortedError } from './deadline.js';
import { holdEventLoop } from './keep-alive.js';
import type { Waiter, WaitResult } from './waiter.js';

/**
 * The waiter for heap SharedArrayBuffers: V8's Atomics.wait / waitAsync / notify.
 *
 * Atomics.wait is allowed on Node's main thread (unlike browsers' main threads); blocking it
 * stalls the event loop, which is why every primitive also has an async form.
 */
export const heapWaiter: Waiter = {
  kind: 'heap',

  wait(i32, index, expected, timeout) {
    return Atomics.wait(i32, index, expected, timeout);
  },

  waitAsync(i32, index, expected, timeout, signal) {
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    const r = Atomics.waitAsync(i32, index, expected, timeout);
    if (!r.async) return Promise.resolve(r.value);
    const pending: Promise<WaitResult> = r.value;
    const release = holdEventLoop();
    return new Promise<WaitResult>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        release();
        reject(abortedError(signal!));
        // V8 cannot cancel a waitAsync: the abandoned waiter stays in its queue and may swallow a
        // notify(1) meant for a live waiter. If it does, wake one more so the wake-up is not lost.
        void pending.then((v) => {
          if (v === 'ok') Atomics.notify(i32, index, 1);
        });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void pending.then((v) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        release();
        resolve(v);
      });
    });
  },

  notify(i32, index, count) {
    return Atomics.notify(i32, index, count === Number.POSITIVE_INFINITY ? undefined : count);
  },
};
