/**
 * How a thread sleeps until a 32-bit word in shared memory changes, and how another wakes it.
 *
 * Two implementations exist and must never be mixed on one word (docs/architecture.md, "Two kinds
 * of memory"): V8's Atomics.wait/notify for heap SharedArrayBuffers, and the native futex for memory
 * mapped by @shmkit/segment. V8's waiters live in a V8-internal list that the OS futex never sees,
 * so a word is always waited on and woken through the waiter of the region that holds it.
 */

/**
 * The kind of memory a region is: 'heap' (a SharedArrayBuffer of this process, waited on with
 * V8's Atomics) or 'futex' (mapped memory, waited on with the OS futex). It decides the waiter and
 * the identity; carried in every handle (as `handle.waiter`).
 */
export type MemoryKindName = 'heap' | 'futex';

/** @deprecated The former name of {@link MemoryKindName}; kept for one release. */
export type WaiterKind = MemoryKindName;

/** `ok`: woken by a notify (or spuriously); `not-equal`: the word had already changed; `timed-out`. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

export interface Waiter {
  readonly kind: MemoryKindName;
  /**
   * Blocks the calling thread while `i32[index] === expected`, at most `timeout` ms (Infinity:
   * no limit). Callers re-check their condition afterwards: wake-ups can be spurious.
   */
  wait(i32: Int32Array, index: number, expected: number, timeout: number): WaitResult;
  /**
   * The async form of {@link wait}. Keeps the event loop alive while pending. When `signal`
   * fires, rejects with ABORTED and leaves no trace: a wake-up that reaches the abandoned wait
   * afterwards is passed on to another waiter, so no notify is lost.
   */
  waitAsync(
    i32: Int32Array,
    index: number,
    expected: number,
    timeout: number,
    signal?: AbortSignal,
  ): Promise<WaitResult>;
  /** Wakes up to `count` threads waiting on the word (Infinity: all); returns how many woke. */
  notify(i32: Int32Array, index: number, count: number): number;
}
