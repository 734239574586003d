/**
 * Atomics on the integer fields of a struct (i8 u8 i16 u16 i32 u32, and i64 u64 with bigints):
 * the same operations as `Atomics`, addressed by field name. A field is named by a path: 'qty',
 * 'pos.x' (nested struct), 'counts[3]' (array element), 'items[1].qty'.
 *
 * Every operation is sequentially consistent (it is Atomics.*) and works across threads and, in a
 * segment, across processes. Operands are checked like field values (INVALID_ARGUMENT when the
 * field cannot hold them); the stored result of add/sub wraps modulo 2^bits, as Atomics does.
 */
import { invalidArgument } from '@shmkit/core';
import { badValue, IS_BAD } from './checks.js';
import { ARRAY_OF, type Memory } from './memory.js';
import type { FieldInfo, Prim } from './schema.js';
import type { StructType } from './struct.js';
import type { Schema, StructView } from './types.js';

type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
type BigArray = BigInt64Array | BigUint64Array;
type Num = number | bigint;

/** A resolved field path: which typed array, and the index relative to the view's offset. */
interface Target {
  readonly prim: Prim;
  readonly arr: keyof Memory;
  readonly shift: number;
  readonly offset: number;
  readonly what: string;
}

/**
 * Atomic operations on one struct type's integer fields (`T.atomic`). Each returns the field's old
 * value; `load` returns the current one. Never blocks, allocates nothing for number fields.
 *
 * @example
 * ```ts
 * const Stats = struct({ hits: 'u32', bytes: 'u64', last: 'f64' });
 * const s = Stats.alloc(1).at(0);
 * Stats.atomic.add(s, 'hits', 1);              // exact across threads and processes
 * Stats.atomic.add(s, 'bytes', 512n);          // 64-bit fields take bigints
 * Stats.atomic.compareExchange(s, 'hits', 1, 10);
 * ```
 */
export interface AtomicOps<T extends Schema> {
  load(view: StructView<T>, field: string): Num;
  store(view: StructView<T>, field: string, value: Num): Num;
  add(view: StructView<T>, field: string, value: Num): Num;
  sub(view: StructView<T>, field: string, value: Num): Num;
  and(view: StructView<T>, field: string, value: Num): Num;
  or(view: StructView<T>, field: string, value: Num): Num;
  xor(view: StructView<T>, field: string, value: Num): Num;
  exchange(view: StructView<T>, field: string, value: Num): Num;
  compareExchange(view: StructView<T>, field: string, expected: Num, replacement: Num): Num;
}

const INTEGER = new Set<Prim>(['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64']);

function resolve(fields: readonly FieldInfo[], path: string, typeName: string): Target {
  let rest = path;
  let offset = 0;
  let list = fields;
  let what = typeName;
  for (;;) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]+)\])?(?:\.(.+))?$/.exec(rest);
    if (m === null) return invalidArgument(`${typeName}: ${JSON.stringify(path)} is not a field path`);
    const f = list.find((x) => x.name === m[1]);
    if (f === undefined) return invalidArgument(`${typeName} has no field ${JSON.stringify(path)}`);
    what += `.${f.name}`;
    offset += f.offset;
    if (m[2] !== undefined) {
      const k = Number(m[2]);
      if (f.count === 0 || k >= f.count) invalidArgument(`${what} has no element ${k}`);
      offset += k * (f.size / f.count);
      what += `[${k}]`;
    } else if (f.count !== 0) invalidArgument(`${what} is an array: name an element, e.g. '${f.name}[0]'`);
    const e = f.elem;
    if (m[3] !== undefined) {
      if (e.kind !== 'struct') invalidArgument(`${what} is not a struct`);
      list = e.type.fields;
      rest = m[3];
      continue;
    }
    if (e.kind !== 'prim' || !INTEGER.has(e.prim)) {
      invalidArgument(`${what} is not an integer field: atomics work on i8 u8 i16 u16 i32 u32 i64 u64`);
    }
    const [arr, shift] = ARRAY_OF[e.prim];
    return { prim: e.prim, arr, shift, offset, what };
  }
}

export function makeAtomics<T extends Schema>(type: StructType<T>): AtomicOps<T> {
  const cache = new Map<string, Target>();
  const target = (path: string): Target => {
    let t = cache.get(path);
    if (t === undefined) {
      if (typeof path !== 'string') invalidArgument('a field path is a string');
      t = resolve(type.fields, path, type.name);
      cache.set(path, t);
    }
    return t;
  };
  const where = (view: unknown, path: string): [IntArray & BigArray, number, Target] => {
    const v = type.own(view);
    const t = target(path);
    return [v.$m[t.arr] as unknown as IntArray & BigArray, (v.$o + t.offset) >>> t.shift, t];
  };
  const check = (t: Target, x: unknown): Num => {
    if (IS_BAD[t.prim](x)) badValue(t.what, t.prim, x);
    return x as Num;
  };
  type Op = (a: IntArray & BigArray, i: number, v: never) => Num;
  const op = (fn: Op) => (view: StructView<T>, path: string, value: Num) => {
    const [a, i, t] = where(view, path);
    return fn(a, i, check(t, value) as never);
  };
  return {
    load(view, path) {
      const [a, i] = where(view, path);
      return Atomics.load(a, i);
    },
    store: op(Atomics.store as unknown as Op),
    add: op(Atomics.add as unknown as Op),
    sub: op(Atomics.sub as unknown as Op),
    and: op(Atomics.and as unknown as Op),
    or: op(Atomics.or as unknown as Op),
    xor: op(Atomics.xor as unknown as Op),
    exchange: op(Atomics.exchange as unknown as Op),
    compareExchange(view, path, expected, replacement) {
      const [a, i, t] = where(view, path);
      return Atomics.compareExchange(a, i, check(t, expected) as never, check(t, replacement) as never);
    },
  };
}
