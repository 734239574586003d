/**
 * A fixed-length array of structs laid out back to back (element i at byteOffset + i x byteLength),
 * and the handle that re-attaches it in another thread.
 */
import { invalidArgument } from '@shmkit/core';
import type { Memory } from './memory.js';
import type { StructType } from './struct.js';
import type { Schema, StructView } from './types.js';

/** A structured-clonable description of a StructArray: post it to a worker, attach with `T.from`. */
export interface StructArrayHandle {
  readonly type: 'StructArray';
  readonly layoutHash: number;
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly length: number;
}

/**
 * `length` structs of one type over shared (or plain) memory.
 *
 * @example
 * ```ts
 * const Point = struct({ x: 'f64', y: 'f64' });
 * const pts = Point.alloc(3);
 * pts.at(1).x = 2.5;                 // a worker given pts.handle sees it: Point.from(handle).at(1).x
 * ```
 */
export class StructArray<T extends Schema> implements Iterable<StructView<T>> {
  /** @internal */
  constructor(
    readonly type: StructType<T>,
    /** @internal */ readonly memory: Memory,
    readonly byteOffset: number,
    readonly length: number,
  ) {}

  /** The buffer the structs live in. */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** Bytes the array spans. */
  get byteLength(): number {
    return this.length * this.type.byteLength;
  }

  /** A live view of element `i` (negative counts from the end). A new view object on each call. */
  at(i: number): StructView<T> {
    const n = this.length;
    if (!Number.isInteger(i) || i >= n || i < -n) {
      invalidArgument(`index ${String(i)} is outside this array of ${n} ${this.type.name}`);
    }
    const k = i < 0 ? n + i : i;
    return new this.type.impl.View(this.memory, this.byteOffset + k * this.type.byteLength) as StructView<T>;
  }

  *[Symbol.iterator](): Iterator<StructView<T>> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** Every element copied out as plain values. */
  toJSON(): unknown[] {
    const out = new Array<unknown>(this.length);
    for (let i = 0; i < this.length; i++)
      out[i] = this.type.impl.decodeAt(this.memory, this.byteOffset + i * this.type.byteLength);
    return out;
  }

  /** Post this to a worker; `T.from(handle)` there gives the same array. */
  get handle(): StructArrayHandle {
    return {
      type: 'StructArray',
      layoutHash: this.type.layoutHash,
      buffer: this.memory.buffer,
      byteOffset: this.byteOffset,
      length: this.length,
    };
  }
}
