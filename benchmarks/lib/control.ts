/**
 * The control block of one round between a benchmark's main thread and its worker: a fresh
 * SharedArrayBuffer per round, one 128-byte line per word, so that the words the two threads spin
 * on never share a line. Used by channel.ts and ring-buffer.ts (and their workers).
 *
 * | Int32 index | byte | word  | written by | meaning                                              |
 * | ----------- | ---- | ----- | ---------- | ---------------------------------------------------- |
 * | 0           | 0    | READY | worker     | adds 1 once set up for the round                     |
 * | 32          | 128  | GO    | main       | 1: start (the worker spins on it, so both start now) |
 * | 64          | 256  | DONE  | worker     | 1: finished (or failed)                              |
 * | 96          | 384  | ACK   | main       | postMessage rounds: messages received so far         |
 * | 128         | 512  | ERR   | worker     | byte length of its error text (0: none)              |
 * | (f64) 80    | 640  | SUM   | worker     | a Float64 result (ring-buffer: the sum it popped)    |
 * |             | 768  | text  | worker     | the error text, UTF-8, at most ERR_TEXT_MAX bytes    |
 *
 * Failures travel here rather than by message because the main thread may be blocked in a wait
 * when the worker fails; every wait on the other side is bounded.
 */

export const READY = 0;
export const GO = 32;
export const DONE = 64;
export const ACK = 96;
export const ERR = 128;
/** Float64 index of the worker's result. */
export const SUM = 80;
const ERR_TEXT = 6 * 128;
const ERR_TEXT_MAX = 2048;

/** A fresh control block. */
export function newControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(ERR_TEXT + ERR_TEXT_MAX));
}

/** Adds 1 to `ctl[index]` and wakes a waiter (READY). */
export function signal(ctl: Int32Array, index: number): void {
  // release: what this thread set up before is visible to the main thread's load of the word.
  Atomics.add(ctl, index, 1);
  Atomics.notify(ctl, index);
}

/** Worker side: the round is over; the result and any error text are in place. */
export function finish(ctl: Int32Array): void {
  // release: publishes SUM and the error text to the main thread's load of DONE.
  Atomics.store(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
}

/** Worker side: leaves the reason for a failure where the (maybe blocked) main thread reads it. */
export function reportError(ctl: Int32Array, e: unknown): void {
  const text = new TextEncoder()
    .encode(String((e as Error | undefined)?.stack ?? e))
    .subarray(0, ERR_TEXT_MAX);
  new Uint8Array(ctl.buffer, ERR_TEXT, ERR_TEXT_MAX).set(text);
  Atomics.store(ctl, ERR, Math.max(1, text.length));
}

/** Main side: throws what the worker reported, if anything. */
export function throwIfFailed(ctl: Int32Array): void {
  // acquire: pairs with reportError's store; the text before it is complete.
  const len = Atomics.load(ctl, ERR);
  if (len === 0) return;
  const text = new TextDecoder().decode(new Uint8Array(ctl.buffer, ERR_TEXT, len).slice());
  throw new Error(`benchmark worker failed: ${text}`);
}

/** Main side: blocks (a benchmark may) until ctl[index] >= value, at most timeoutMs. */
export function waitFor(
  ctl: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
  what: string,
): void {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    // acquire: pairs with the worker's signal / finish.
    const v = Atomics.load(ctl, index);
    if (v >= value) return;
    throwIfFailed(ctl);
    if (performance.now() > deadline) throw new Error(`benchmark worker did not ${what} in time`);
    Atomics.wait(ctl, index, v, 50);
  }
}

/** Worker side: spins (no sleep: the start must be prompt) until ctl[index] !== 0, at most timeoutMs. */
export function spinFor(ctl: Int32Array, index: number, timeoutMs: number): void {
  const deadline = performance.now() + timeoutMs;
  let s = 0;
  // acquire: pairs with the main thread's store of GO.
  while (Atomics.load(ctl, index) === 0) {
    if ((++s & 0xffff) === 0 && performance.now() > deadline)
      throw new Error('benchmark: no start signal in time');
  }
}

/** Throws once `deadline` (performance.now()) has passed: the bound of a spin loop. */
export function late(deadline: number, what: string): void {
  if (performance.now() > deadline) throw new Error(`benchmark: ${what} for too long`);
}
