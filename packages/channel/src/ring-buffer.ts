/**
 * RingBuffer: a single-producer, single-consumer stream of typed elements (audio samples, sensor
 * readings), wait-free on both sides. A drop-in for ringbuf.js 0.4: same statics, constructor,
 * methods and semantics, so code written for it switches by changing the import. The ring itself
 * (its algorithm, what each call costs, the untrusted-memory checks) is RingBufferCore in
 * ring-buffer-core.ts; this file adds what shmkit has beyond ringbuf.js: `handle` /
 * `RingBuffer.from(handle)`, and blocking / async helpers that wait for room or data, with their
 * sleep/wake protocol (see pushSteps). The header layout is in ring-buffer-layout.ts (and
 * docs/format.md).
 */
import {
  type AsyncWaitOptions,
  Deadline,
  type Handle,
  heapWaiter,
  invalidArgument,
  regionFromHandle,
  runBlocking,
  timeoutError,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
  waitStepsAsync,
} from '@shmkit/core';
import { count } from './ring-buffer-copy.js';
import { RingBufferCore, readable } from './ring-buffer-core.js';
import { ELEMENT_TYPES, INDEX_MASK, READ, SLEEPER, type TypedArray, WRITE } from './ring-buffer-layout.js';

export type { TypedArray, TypedArrayConstructor } from './ring-buffer-layout.js';

/** A RingBuffer's handle: its buffer and element type. */
export interface RingBufferHandle extends Handle {
  readonly elementType: string;
}

/**
 * A single-producer, single-consumer ring of typed elements in a SharedArrayBuffer, wait-free on
 * both sides, a drop-in for ringbuf.js 0.4; plus `handle` and helpers that wait for room or data.
 *
 * @example
 * ```ts
 * const sab = RingBuffer.getStorageForCapacity(4096, Float32Array);
 * const rb = new RingBuffer(sab, Float32Array);   // in the other thread: new RingBuffer(sab, Float32Array)
 * rb.push(samples);                                // returns how many fitted
 * const n = rb.pop(out);                           // returns how many were read
 * ```
 */
export class RingBuffer extends RingBufferCore {
  /** Re-attaches, in this thread, to the ring behind `handle`. */
  static from(handle: RingBufferHandle): RingBuffer {
    const region = regionFromHandle(handle, 'RingBuffer');
    const type = ELEMENT_TYPES.find((t) => t.name === handle.elementType);
    if (type === undefined) invalidArgument(`unknown element type ${String(handle.elementType)}`);
    if (region.byteOffset !== 0 || region.byteLength !== region.buffer.byteLength) {
      invalidArgument('a RingBuffer handle covers its whole buffer');
    }
    return new RingBuffer(region.buffer, type);
  }

  /** A structured-clonable reference: post it to a worker, then RingBuffer.from(handle). */
  get handle(): RingBufferHandle {
    return {
      type: 'RingBuffer',
      buffer: this.buf,
      byteOffset: 0,
      byteLength: this.buf.byteLength,
      waiter: 'heap',
      elementType: this.elementType.name,
    };
  }

  /**
   * Pushes every element of `elements` (or `length` from `offset`), waiting for room as needed.
   * TIMEOUT if the time runs out; elements pushed until then stay pushed. Returns the count.
   *
   * @example
   * ```ts
   * rb.pushBlocking(samples, { timeout: 1000 }); // all of samples, or TIMEOUT
   * ```
   */
  pushBlocking(elements: TypedArray, o?: WaitOptions & { length?: number; offset?: number }): number {
    const deadline = new Deadline(validateWaitOptions(o));
    const total = count(elements, o?.length, o?.offset ?? 0);
    return runBlocking(this.pushSteps(elements, total, o?.offset ?? 0, deadline), heapWaiter, this.ctl);
  }

  /** The async form of pushBlocking. */
  pushAsync(
    elements: TypedArray,
    o?: AsyncWaitOptions & { length?: number; offset?: number },
  ): Promise<number> {
    return waitStepsAsync(heapWaiter, this.ctl, o, (deadline) =>
      this.pushSteps(elements, count(elements, o?.length, o?.offset ?? 0), o?.offset ?? 0, deadline),
    );
  }

  /**
   * Waits until at least one element is ready (or `min` elements, at most the capacity), then
   * pops up to `length` (default: to the end of `elements`). TIMEOUT if none came in time;
   * INVALID_ARGUMENT at once for a `min` above the capacity, which could never be met.
   *
   * @example
   * ```ts
   * const n = rb.popBlocking(out, { min: 128, timeout: 1000 }); // 128 <= n <= out.length
   * ```
   */
  popBlocking(
    elements: TypedArray,
    o?: WaitOptions & { length?: number; offset?: number; min?: number },
  ): number {
    const deadline = new Deadline(validateWaitOptions(o));
    const length = count(elements, o?.length, o?.offset ?? 0);
    const min = this.checkMin(o?.min, length);
    return runBlocking(this.popSteps(elements, length, o?.offset ?? 0, min, deadline), heapWaiter, this.ctl);
  }

  /** The async form of popBlocking. */
  popAsync(
    elements: TypedArray,
    o?: AsyncWaitOptions & { length?: number; offset?: number; min?: number },
  ): Promise<number> {
    return waitStepsAsync(heapWaiter, this.ctl, o, (deadline) => {
      const length = count(elements, o?.length, o?.offset ?? 0);
      return this.popSteps(elements, length, o?.offset ?? 0, this.checkMin(o?.min, length), deadline);
    });
  }

  /**
   * The sleep/wake protocol (both directions alike; here the producer waiting for room): set the
   * SLEEPER bit in the consumer's word with Atomics.or, whose result shows whether the consumer
   * moved since the room was checked; if not, sleep while the word still reads index | SLEEPER.
   * The consumer's publish is an Atomics.exchange that clears the bit and returns the old word,
   * so it notifies exactly when a sleeper had announced itself. Both are read-modify-writes of
   * one word, so one of them comes first: either the exchange sees the bit (and notifies), or
   * the or sees the new index (and the sleeper re-checks instead of sleeping). A sleeper that
   * times out leaves the bit; the next publish then notifies nobody, which is harmless.
   */
  private *pushSteps(
    elements: TypedArray,
    total: number,
    offset: number,
    deadline: Deadline,
  ): WaitSteps<number> {
    let done = 0;
    for (;;) {
      done += this.push(elements, total - done, offset + done);
      if (done >= total) return done;
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('RingBuffer push', deadline.timeout);
      const rd = this.readSeen; // what the failed push saw
      const before = Atomics.or(this.ctl, READ, SLEEPER);
      if ((before & INDEX_MASK) !== rd) continue; // the consumer moved: try again
      yield { index: READ, expected: rd | SLEEPER, timeout: left };
    }
  }

  private *popSteps(
    elements: TypedArray,
    length: number,
    offset: number,
    min: number,
    deadline: Deadline,
  ): WaitSteps<number> {
    for (;;) {
      const wr = this.reloadWrite();
      if (readable(this.reloadRead(), wr, this.slots) >= min) return this.pop(elements, length, offset);
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('RingBuffer pop', deadline.timeout);
      // As in pushSteps: announce, and sleep only if the producer has not moved since wr.
      const before = Atomics.or(this.ctl, WRITE, SLEEPER);
      if ((before & INDEX_MASK) !== wr) continue;
      yield { index: WRITE, expected: wr | SLEEPER, timeout: left };
    }
  }

  /** `min` of popBlocking/popAsync: an integer in [0, capacity], capped at the room in `elements`. */
  private checkMin(min: number | undefined, length: number): number {
    if (min === undefined) return Math.min(1, length);
    if (!Number.isInteger(min) || min < 0 || min > this.slots - 1) {
      invalidArgument(
        `min must be an integer in [0, ${this.slots - 1}] (the capacity), got ${String(min)}: more could never be ready`,
      );
    }
    return Math.min(min, length);
  }
}
