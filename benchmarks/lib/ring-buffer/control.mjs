// The control block shared by benchmarks/ring-buffer.ts and its worker: one 128-byte line per
// word, so that the words the two threads spin on never share a line with each other.

export const READY = 0; // worker adds 1 once its ring is attached
export const GO = 32; // main stores 1: start
export const DONE = 64; // worker stores 1 when finished (or failed)
export const ERR = 96; // worker stores the byte length of its error text (0: none)
export const SUM = 56; // Float64 index (byte 448, on ERR's line): the sum the worker popped
const ERR_TEXT = 4 * 128;
const ERR_TEXT_MAX = 2048;

/** A fresh control block. */
export function newControl() {
  return new Int32Array(new SharedArrayBuffer(ERR_TEXT + ERR_TEXT_MAX));
}

/** Worker side: leaves the reason for a failure where the (maybe blocked) main thread reads it. */
export function reportError(ctl, e) {
  const text = new TextEncoder().encode(String(e?.stack ?? e)).subarray(0, ERR_TEXT_MAX);
  new Uint8Array(ctl.buffer, ERR_TEXT, ERR_TEXT_MAX).set(text);
  Atomics.store(ctl, ERR, text.length);
}

/** Main side: throws what the worker reported, if anything. */
export function throwIfFailed(ctl) {
  const len = Atomics.load(ctl, ERR);
  if (len === 0) return;
  const text = new TextDecoder().decode(new Uint8Array(ctl.buffer, ERR_TEXT, len).slice());
  throw new Error(`benchmark worker failed: ${text}`);
}

/** Blocks (a benchmark may) until ctl[index] >= value, at most timeoutMs. */
export function waitFor(ctl, index, value, timeoutMs, what) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = Atomics.load(ctl, index);
    if (v >= value) return;
    throwIfFailed(ctl);
    if (performance.now() > deadline) throw new Error(`benchmark worker did not ${what} in time`);
    Atomics.wait(ctl, index, v, 50);
  }
}

/** Spins (no sleep: the start must be prompt) until ctl[index] !== 0, at most timeoutMs. */
export function spinFor(ctl, index, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (Atomics.load(ctl, index) === 0) {
    if (performance.now() > deadline) throw new Error('benchmark: no start signal in time');
  }
}
