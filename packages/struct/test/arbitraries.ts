/**
 * fast-check generators of struct schemas and of values for them, and an exact canonical text of
 * a value (Object.is for numbers: -0 and NaN are told apart) to compare round trips.
 */
import { type Schema, type StructType, struct } from '@shmkit/struct';
import fc from 'fast-check';

const PRIMS = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'f32', 'f64', 'bool'] as const;
type PrimName = (typeof PRIMS)[number];
const enc = new TextEncoder();

export interface FieldGen {
  name: string;
  /** The spec given to struct(). */
  spec: unknown;
  /** Generator of a valid value. */
  value: fc.Arbitrary<unknown>;
  /** The value reading it back gives (integer fields turn -0 into 0). */
}

const u32 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
  .map(([a, b]) => a * 65536 + b);

export function primValue(p: PrimName): fc.Arbitrary<unknown> {
  switch (p) {
    case 'i8':
      return fc.integer({ min: -128, max: 127 });
    case 'u8':
      return fc.integer({ min: 0, max: 255 });
    case 'i16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'u16':
      return fc.integer({ min: 0, max: 65535 });
    case 'i32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'u32':
      return u32;
    case 'i64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'u64':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case 'f32':
      return fc.float();
    case 'f64':
      return fc.double();
    case 'bool':
      return fc.boolean();
  }
}

function utf8Value(n: number, nullable: boolean): fc.Arbitrary<unknown> {
  const s = fc
    .string({ unit: 'binary', maxLength: n })
    .filter((x) => !x.includes('\u0000') && enc.encode(x).length <= n);
  return nullable ? fc.option(s, { nil: null }) : s;
}

const names = fc
  .stringMatching(/^[a-z][a-zA-Z0-9_]{0,8}$/)
  .filter((n) => !['constructor', 'prototype', 'valueOf'].includes(n));

/** One element type: spec + value generator. Nested structs only when depth allows. */
function elem(depth: number): fc.Arbitrary<{ spec: unknown; value: fc.Arbitrary<unknown>; text: string }> {
  const prim = fc
    .constantFrom(...PRIMS)
    .map((p) => ({ spec: p as unknown, value: primValue(p), text: p as string }));
  const utf8 = fc.tuple(fc.integer({ min: 1, max: 24 }), fc.boolean()).map(([n, nullable]) => ({
    spec: `utf8:${n}${nullable ? '?' : ''}`,
    value: utf8Value(n, nullable),
    text: `utf8:${n}${nullable ? '?' : ''}`,
  }));
  if (depth <= 0) return fc.oneof({ weight: 4, arbitrary: prim }, { weight: 1, arbitrary: utf8 });
  const nested = schemaGen(depth - 1, 4).map((fields) => {
    const t = makeType(fields);
    return { spec: t as unknown, value: valuesFor(fields), text: 'struct' };
  });
  return fc.oneof(
    { weight: 4, arbitrary: prim },
    { weight: 1, arbitrary: utf8 },
    { weight: 1, arbitrary: nested },
  );
}

/** A field: an element, or an array of 1..5 of them (as 'T[N]' or [T, N]). */
function field(depth: number): fc.Arbitrary<Omit<FieldGen, 'name'>> {
  return fc.tuple(elem(depth), fc.integer({ min: 0, max: 5 }), fc.boolean()).map(([e, n, tuple]) => {
    if (n === 0) return { spec: e.spec, value: e.value };
    const spec = typeof e.spec === 'string' && !tuple ? `${e.spec}[${n}]` : [e.spec, n];
    return { spec, value: fc.array(e.value, { minLength: n, maxLength: n }) };
  });
}

export function schemaGen(depth = 1, maxFields = 8): fc.Arbitrary<FieldGen[]> {
  return fc
    .uniqueArray(fc.tuple(names, field(depth)), { minLength: 1, maxLength: maxFields, selector: ([n]) => n })
    .map((fs) => fs.map(([name, f]) => ({ name, ...f })));
}

const types = new WeakMap<FieldGen[], StructType<Schema>>();
export function makeType(fields: FieldGen[], o?: { codegen?: 'function' | 'closures' }): StructType<Schema> {
  if (o === undefined) {
    const hit = types.get(fields);
    if (hit !== undefined) return hit;
  }
  const schema: Record<string, unknown> = {};
  for (const f of fields) schema[f.name] = f.spec;
  const t = struct(schema as Schema, { name: 'T', ...o });
  if (o === undefined) types.set(fields, t);
  return t;
}

export function valuesFor(fields: FieldGen[]): fc.Arbitrary<Record<string, unknown>> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) rec[f.name] = f.value;
  return fc.record(rec);
}

/** Exact canonical text: numbers by Object.is, bigints, strings, null, arrays, typed arrays, objects. */
export function canon(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v === 'boolean' || v === undefined) return String(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v))
    return `[${Array.from(v as ArrayLike<unknown>, canon).join(',')}]`;
  return `{${Object.keys(v as object)
    .map((k) => `${k}:${canon((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

/** What reading a value back gives: -0 in an integer field becomes 0 (none are generated here). */
export function expected(v: unknown): string {
  return canon(v);
}
