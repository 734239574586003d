/**
 * Typed arrays over a whole buffer, made once per buffer and shared by every view of it: a view is
 * then just (memory, byteOffset), and a field access is one indexed load or store.
 * Index = (byteOffset + field offset) >>> log2(size): views keep every field naturally aligned, so
 * the shift is exact. Buffers up to 4 GiB (the shift is unsigned 32-bit).
 */
import { invalidArgument } from '@shmkit/core';

/** Every typed array a generated accessor may use, over one buffer. */
export interface Memory {
  readonly buffer: ArrayBufferLike;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
}

const cache = new WeakMap<ArrayBufferLike, Memory>();
export const MAX_BUFFER = 2 ** 32;

/** The typed arrays of `buffer` (an ArrayBuffer or SharedArrayBuffer), made on first use. */
export function memoryOf(buffer: ArrayBufferLike): Memory {
  const hit = cache.get(buffer);
  if (hit !== undefined) return hit;
  if (
    !(buffer instanceof ArrayBuffer) &&
    !(typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer)
  ) {
    invalidArgument('a struct lives in an ArrayBuffer or a SharedArrayBuffer');
  }
  const n = buffer.byteLength;
  if (n > MAX_BUFFER) invalidArgument(`struct views index buffers up to 4 GiB, this one has ${n} bytes`);
  const m: Memory = {
    buffer,
    u8: new Uint8Array(buffer, 0, n),
    i8: new Int8Array(buffer, 0, n),
    u16: new Uint16Array(buffer, 0, n >>> 1),
    i16: new Int16Array(buffer, 0, n >>> 1),
    u32: new Uint32Array(buffer, 0, n >>> 2),
    i32: new Int32Array(buffer, 0, n >>> 2),
    f32: new Float32Array(buffer, 0, n >>> 2),
    f64: new Float64Array(buffer, 0, n >>> 3),
    i64: new BigInt64Array(buffer, 0, n >>> 3),
    u64: new BigUint64Array(buffer, 0, n >>> 3),
  };
  cache.set(buffer, m);
  return m;
}

/** The Memory field name of each scalar type's typed array, and log2 of its size. */
export const ARRAY_OF = {
  i8: ['i8', 0],
  u8: ['u8', 0],
  bool: ['u8', 0],
  i16: ['i16', 1],
  u16: ['u16', 1],
  i32: ['i32', 2],
  u32: ['u32', 2],
  f32: ['f32', 2],
  i64: ['i64', 3],
  u64: ['u64', 3],
  f64: ['f64', 3],
} as const;
