/**
 * The hot loops of benchmarks/ring-buffer.ts, shared by the main thread and the worker.
 *
 * Each implementation imports this module under its own URL (`loops.ts?impl=<name>`), so that
 * each gets its own copy of these functions and every `rb.push` / `rb.pop` call site stays
 * monomorphic: the comparison is of the rings, not of V8's inline caches.
 *
 * Sample k carries the value k & 0xffff (exact in a Float32). The consumer checks the first sample
 * of every chunk and sums them all; the caller compares the sum with expectedSum(n).
 */
import { late } from '../lib/control.js';

/** The part of ringbuf.js's RingBuffer API the loops use. */
export interface PushPop {
  push(elements: Float32Array, length?: number, offset?: number): number;
  pop(elements: Float32Array, length?: number, offset?: number): number;
}

/** Spins between checks of the deadline; a stuck ring fails the run instead of hanging it. */
const SPINS_PER_CHECK = 0xffff;

/**
 * Moves the whole of `buf` into the ring (push) or out of it (pop), spinning while it is full or
 * empty. The two calls are two call sites, each seeing one RingBuffer class per copy of this module.
 */
function moveChunk(rb: PushPop, buf: Float32Array, push: boolean, deadline: number): void {
  const len = buf.length;
  let done = 0;
  let spins = 0;
  while (done < len) {
    const k = push ? rb.push(buf, len - done, done) : rb.pop(buf, len - done, done);
    if (k === 0 && ++spins === SPINS_PER_CHECK) {
      spins = 0;
      late(deadline, push ? 'the ring stayed full' : 'the ring stayed empty');
    }
    done += k;
  }
}

/** Sample values base..base+chunk-1 of the stream. */
function fill(c: Float32Array, base: number): void {
  for (let k = 0; k < c.length; k++) c[k] = (base + k) & 0xffff;
}

/** Checks that a popped chunk starts at `base`; returns the sum of its samples. */
function check(out: Float32Array, base: number): number {
  if (out[0] !== (base & 0xffff)) throw new Error(`chunk at ${base} starts with ${out[0]}`);
  let sum = 0;
  for (let k = 0; k < out.length; k++) sum += out[k]!;
  return sum;
}

/** Pushes samples 0..n-1 in chunks of `chunk`, spinning while the ring is full. */
export function produce(rb: PushPop, n: number, chunk: number, deadline: number): void {
  const c = new Float32Array(chunk);
  for (let base = 0; base < n; base += chunk) {
    fill(c, base);
    moveChunk(rb, c, true, deadline);
  }
}

/** Pops n samples in chunks of `chunk`, spinning while the ring is empty; returns their sum. */
export function consume(rb: PushPop, n: number, chunk: number, deadline: number): number {
  const out = new Float32Array(chunk);
  let sum = 0;
  for (let base = 0; base < n; base += chunk) {
    moveChunk(rb, out, false, deadline);
    sum += check(out, base);
  }
  return sum;
}

/** One thread: pushes a chunk, pops it back, n samples in all; returns the sum popped. */
export function alternate(rb: PushPop, n: number, chunk: number): number {
  const c = new Float32Array(chunk);
  const out = new Float32Array(chunk);
  let sum = 0;
  for (let base = 0; base < n; base += chunk) {
    fill(c, base);
    if (rb.push(c) !== chunk) throw new Error(`push at ${base} did not take the whole chunk`);
    if (rb.pop(out) !== chunk) throw new Error(`pop at ${base} did not return the whole chunk`);
    sum += check(out, base);
  }
  return sum;
}

/** What consume/alternate must return for n samples. */
export function expectedSum(n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += k & 0xffff;
  return s;
}
