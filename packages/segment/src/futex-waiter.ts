/**
 * The waiter of mapped memory: the OS futex, without FUTEX_PRIVATE_FLAG, so that threads of
 * different processes meet on a word of a shared mapping (V8's Atomics.wait/notify never reach
 * another process, nor the OS futex: docs/architecture.md, "Two kinds of memory").
 *
 * - `wait` blocks the calling thread in FUTEX_WAIT, like Atomics.wait (allowed on Node's main
 *   thread, where it stalls the event loop).
 * - `waitAsync` sleeps on a dedicated waiter thread of the addon, never the libuv thread pool, and
 *   keeps the event loop alive only while it is pending.
 * - `notify` is FUTEX_WAKE; it wakes blocking and async waiters of every process alike.
 *
 * Ordering: callers change the word with Atomics (seq_cst) before notify; FUTEX_WAIT compares the
 * word and queues the sleeper atomically with respect to FUTEX_WAKE, so a waiter either sees the
 * new value ('not-equal') or is woken. Wake-ups may be spurious: every caller loops.
 */
import { abortedError, invalidArgument, ShmkitError, type Waiter, type WaitResult } from '@shmkit/core';
import { fromNative } from './mapping.js';
import { type NativeAddon, native } from './native.js';

/** Indexed by the addon's result codes (3 and 4 are errors: see {@link result}). */
const RESULTS: readonly WaitResult[] = ['ok', 'not-equal', 'timed-out'];
const TIMED_OUT = 2;
const GONE = 3;
const RELEASED = 4;

/** The WaitResult for an addon code; CORRUPT or CLOSED when the word's memory is gone. */
function result(code: number): WaitResult {
  if (code === GONE) {
    throw new ShmkitError(
      'CORRUPT',
      "the segment's memory is gone: another process truncated its file while this one had it mapped",
    );
  }
  if (code === RELEASED) {
    throw new ShmkitError(
      'CLOSED',
      "the segment's mapping was released in this process (close({ unmap: true }))",
    );
  }
  return RESULTS[code]!;
}
const INT_MAX = 0x7fffffff;

/**
 * Longest single sleep of a blocking wait. V8 can only terminate a thread (worker.terminate(),
 * process exit joining its workers) when it runs JavaScript, and a thread asleep in the kernel runs
 * none; so long waits return to JavaScript this often and sleep again. A wake-up that falls in the
 * gap between two slices is not lost when the word changed (the next FUTEX_WAIT compare fails),
 * which is how every caller of a waiter publishes before it wakes.
 */
const SLICE_MS = 250;

/** Settles pending async waits by id; filled by waitAsync, emptied on settle or abort. */
const pending = new Map<number, (code: number) => void>();
let handlerInstalled = false;

function asyncAddon(): NativeAddon {
  const a = native();
  if (!handlerInstalled) {
    a.setWaitHandler((id, code) => {
      const settle = pending.get(id);
      if (settle !== undefined) {
        pending.delete(id);
        settle(code);
      }
    });
    handlerInstalled = true;
  }
  return a;
}

/**
 * The `futex` waiter. Use it for every word of memory mapped by @shmkit/segment, in every thread
 * of every process, and for nothing else (mixing it with Atomics.wait on one word loses wake-ups).
 *
 * @example
 * ```ts
 * const w = new Int32Array(mappedFile.buffer!);
 * futexWaiter.wait(w, 0, 0, 1000);          // in process A: sleeps while w[0] === 0, ≤ 1 s
 * Atomics.store(w, 0, 1); futexWaiter.notify(w, 0, 1);   // in process B
 * ```
 */
export const futexWaiter: Waiter = {
  kind: 'futex',

  wait(i32, index, expected, timeout) {
    const n = native();
    const ms = Number.isNaN(timeout) ? Number.POSITIVE_INFINITY : Math.max(0, timeout);
    try {
      if (ms <= SLICE_MS) return result(n.wait(i32, index, expected, ms));
      const end = performance.now() + ms; // Infinity stays Infinity
      for (;;) {
        const left = end - performance.now();
        const r = n.wait(i32, index, expected, left > SLICE_MS ? SLICE_MS : Math.max(0, left));
        if (r !== TIMED_OUT || left <= SLICE_MS) return result(r);
      }
    } catch (e) {
      throw fromNative(e, '');
    }
  },

  waitAsync(i32, index, expected, timeout, signal) {
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (!(i32 instanceof Int32Array) || !Number.isInteger(index) || index < 0 || index >= i32.length) {
      return Promise.reject(
        new ShmkitError('INVALID_ARGUMENT', `waitAsync needs an Int32Array and an index inside it`),
      );
    }
    // The answers that need no thread, as Atomics.waitAsync gives them synchronously.
    if (Atomics.load(i32, index) !== (expected | 0)) return Promise.resolve('not-equal');
    const ms = Number.isNaN(timeout) ? Number.POSITIVE_INFINITY : Math.max(0, timeout);
    if (ms === 0) return Promise.resolve('timed-out');
    let id: number;
    try {
      id = asyncAddon().waitAsync(i32, index, expected, ms);
    } catch (e) {
      return Promise.reject(fromNative(e, ''));
    }
    // From here until it settles, the addon holds a reference on its thread-safe function, which
    // keeps the event loop alive; settling or cancelling drops it.
    return new Promise<WaitResult>((resolve, reject) => {
      const onAbort = (): void => {
        // cancelWait is false when the result is already on its way: then it settles as usual.
        // Otherwise the waiter thread stops at once (its cancellation word is woken), and a
        // wake-up it consumed meanwhile is passed on with another FUTEX_WAKE (in the addon), so
        // no notify is lost for the live waiters.
        if (native().cancelWait(id)) {
          pending.delete(id);
          reject(abortedError(signal!));
        }
      };
      pending.set(id, (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (code >= 0) {
          try {
            resolve(result(code));
          } catch (e) {
            reject(e);
          }
        } else {
          const name = native().errnoName(code);
          reject(fromNative({ code: name, syscall: 'futex', message: `futex wait failed: ${name}` }, ''));
        }
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },

  notify(i32, index, count) {
    if (typeof count !== 'number' || Number.isNaN(count) || count < 0) {
      invalidArgument(`notify count must be a non-negative number, got ${String(count)}`);
    }
    const n = count >= INT_MAX ? INT_MAX : Math.floor(count); // Infinity: all
    try {
      return native().wake(i32, index, n);
    } catch (e) {
      throw fromNative(e, '');
    }
  },
};

/** Async waits of this thread that are pending in the addon (for tests and diagnostics). */
export function pendingFutexWaits(): number {
  return handlerInstalled ? native().pendingWaits() : 0;
}

/** Whether async waits use futex_waitv (Linux 5.16+) rather than the sliced bitset fallback. */
export function futexWaitvInUse(): boolean {
  return native().futexWaitv;
}
