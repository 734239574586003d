/**
 * What a struct type's accessors are made of, whichever way they were built (generated source or
 * closures): encode a value at an offset, decode one, and a View class with one accessor per
 * field. `H` is the set of helpers both builds call.
 */
import { badList, badObject, badValue, corruptBool, isList } from './checks.js';
import { type Memory, memoryOf } from './memory.js';
import type { Prim } from './schema.js';
import { readUtf8, writeUtf8 } from './utf8.js';

/** A built struct type's machinery. */
export interface Impl {
  /** Writes `v` at byte `o` of `m`, checking each field as it goes (may leave a prefix written). */
  encodeAt(m: Memory, o: number, v: unknown): void;
  /** Reads the value at byte `o` of `m` into a new plain object. */
  decodeAt(m: Memory, o: number): unknown;
  /** Live view class: `new View(m, o)`. */
  readonly View: new (
    m: Memory,
    o: number,
  ) => object;
}

/** What generated code needs of a nested struct type (StructType implements it). */
export interface Dep {
  readonly name: string;
  readonly byteLength: number;
  readonly impl: Impl;
  /** Checks `x` in full, then writes it at byte `o` of `m` (nothing written when it is refused). */
  assignAt(m: Memory, o: number, x: unknown, what: string): void;
  /** A live array of `n` views at byte `o` of `m`. */
  arrayAt(m: Memory, o: number, n: number): unknown;
}

/** Typed array constructors by scalar type (views of array fields are live typed arrays). */
export const TYPED: Readonly<
  Record<Prim, new (b: ArrayBufferLike, o: number, n: number) => ArrayLike<unknown>>
> = {
  i8: Int8Array,
  u8: Uint8Array,
  bool: Uint8Array,
  i16: Int16Array,
  u16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  f32: Float32Array,
  f64: Float64Array,
  i64: BigInt64Array,
  u64: BigUint64Array,
};

function rbool(b: number, what: string): boolean {
  return b === 1 ? true : b === 0 ? false : corruptBool(what, b);
}

/** Reads `n` scalars from typed array `a` starting at element `i` into a plain array. */
function rlist(a: ArrayLike<unknown>, i: number, n: number, bool: boolean, what: string): unknown[] {
  const out = new Array<unknown>(n);
  if (bool) for (let k = 0; k < n; k++) out[k] = rbool(a[i + k] as number, what);
  else for (let k = 0; k < n; k++) out[k] = a[i + k];
  return out;
}

function rutf8list(u8: Uint8Array, at: number, bytes: number, nullable: boolean, n: number, what: string) {
  const out = new Array<string | null>(n);
  for (let k = 0; k < n; k++) out[k] = readUtf8(u8, at + k * bytes, bytes, nullable, what);
  return out;
}

function rstructlist(d: Dep, m: Memory, at: number, n: number): unknown[] {
  const out = new Array<unknown>(n);
  for (let k = 0; k < n; k++) out[k] = d.impl.decodeAt(m, at + k * d.byteLength);
  return out;
}

function enc(d: Dep, m: Memory, at: number, x: unknown, what: string): void {
  if (typeof x !== 'object' || x === null) badObject(what, x);
  d.impl.encodeAt(m, at, x);
}

/** Scratch memory for check-then-write assignments, grown on demand (8-aligned). */
let scratch: Memory = memoryOf(new ArrayBuffer(256));
function scratchOf(size: number): Memory {
  if (scratch.u8.length < size) scratch = memoryOf(new ArrayBuffer((size + 7) & ~7));
  // Zeroed: padding between fields is never written by a field, and must not carry old bytes.
  else scratch.u8.fill(0, 0, size);
  return scratch;
}

export const H = {
  TYPED,
  bad: badValue,
  badList,
  badObject,
  corruptBool,
  isList,
  rbool,
  rlist,
  rutf8: readUtf8,
  wutf8: writeUtf8,
  rutf8list,
  rstructlist,
  enc,
  scratchOf,
};
export type Helpers = typeof H;
