/**
 * Struct schemas: parsing the field types and laying the fields out.
 *
 * Layout rule (docs/struct.md, "Layout"): fields in declaration order, each at the next multiple
 * of its alignment; the struct's alignment is its largest field alignment and its byteLength the
 * end of its last field rounded up to that alignment (so arrays of it keep every element aligned).
 *
 * | type          | size      | alignment | JS value                                   |
 * |---------------|-----------|-----------|--------------------------------------------|
 * | i8 u8 bool    | 1         | 1         | number (bool: boolean; stored 0 / 1)       |
 * | i16 u16       | 2         | 2         | number                                     |
 * | i32 u32 f32   | 4         | 4         | number                                     |
 * | i64 u64       | 8         | 8         | bigint                                     |
 * | f64           | 8         | 8         | number                                     |
 * | 'utf8:N'      | N         | 1         | string of at most N UTF-8 bytes, zero-padded |
 * | 'utf8:N?'     | N         | 1         | string or null (null: first byte 0xFF)     |
 * | 'T[N]', [T,N] | N x size  | of T      | array (views: a live typed array)          |
 * | struct(...)   | byteLength| its alignment | object (views: a nested live view)     |
 */
import { invalidArgument } from '@shmkit/core';

/** The scalar types: integers, floats and bool. */
export type Prim = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64' | 'bool';

export const PRIM_SIZE: Readonly<Record<Prim, number>> = {
  i8: 1,
  u8: 1,
  bool: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  f32: 4,
  i64: 8,
  u64: 8,
  f64: 8,
};

/** The shape of a nested struct type, as far as layout needs it (StructType implements it). */
export interface NestedType {
  readonly byteLength: number;
  readonly alignment: number;
  readonly layoutText: string;
  readonly fields: readonly FieldInfo[];
}

/** One element type: a scalar, a fixed-capacity string, or a nested struct. */
export type ElemType =
  | { readonly kind: 'prim'; readonly prim: Prim }
  | { readonly kind: 'utf8'; readonly bytes: number; readonly nullable: boolean }
  | { readonly kind: 'struct'; readonly type: NestedType };

/** A laid-out field: its element type, count (0: a single value, N: an array of N) and offset. */
export interface FieldInfo {
  readonly name: string;
  readonly elem: ElemType;
  /** 0 for a single value, N >= 1 for 'T[N]'. */
  readonly count: number;
  readonly offset: number;
  readonly size: number;
  readonly alignment: number;
  /** The type as written canonically: 'u32', 'utf8:12?', 'f64[4]', '{...}[2]'. */
  readonly typeText: string;
}

const PRIMS = new Set<string>(Object.keys(PRIM_SIZE));
/** Names a field may not take: they would shadow what every view has. */
const RESERVED = new Set(['constructor', 'toJSON', '__proto__', 'prototype', 'hasOwnProperty', 'valueOf']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Upper bounds that keep every offset a small integer (views index buffers below 4 GiB). */
const MAX_UTF8 = 1 << 20;
const MAX_COUNT = 1 << 24;
const MAX_STRUCT = 2 ** 31;

export function elemSize(e: ElemType): number {
  return e.kind === 'prim' ? PRIM_SIZE[e.prim] : e.kind === 'utf8' ? e.bytes : e.type.byteLength;
}

export function elemAlign(e: ElemType): number {
  return e.kind === 'prim' ? PRIM_SIZE[e.prim] : e.kind === 'utf8' ? 1 : e.type.alignment;
}

function elemText(e: ElemType): string {
  return e.kind === 'prim'
    ? e.prim
    : e.kind === 'utf8'
      ? `utf8:${e.bytes}${e.nullable ? '?' : ''}`
      : `{${e.type.layoutText}}`;
}

function isNested(v: unknown): v is NestedType {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as NestedType).byteLength === 'number' &&
    typeof (v as NestedType).layoutText === 'string' &&
    Array.isArray((v as NestedType).fields)
  );
}

/** Parses one element type ('u32', 'utf8:12', 'utf8:8?', or a struct). */
function parseElem(spec: unknown, where: string): ElemType {
  if (isNested(spec)) return { kind: 'struct', type: spec };
  if (typeof spec !== 'string')
    invalidArgument(`${where}: a field type is a string or a struct, got ${typeof spec}`);
  if (PRIMS.has(spec)) return { kind: 'prim', prim: spec as Prim };
  const m = /^utf8:([0-9]+)(\?)?$/.exec(spec);
  if (m !== null) {
    const bytes = Number(m[1]);
    if (!(bytes >= 1 && bytes <= MAX_UTF8)) invalidArgument(`${where}: utf8 capacity must be 1..${MAX_UTF8}`);
    return { kind: 'utf8', bytes, nullable: m[2] === '?' };
  }
  return invalidArgument(
    `${where}: unknown field type ${JSON.stringify(spec)} (i8 u8 i16 u16 i32 u32 i64 u64 f32 f64 bool, 'utf8:N', 'T[N]', a struct)`,
  );
}

/** Parses a field type: an element type, 'T[N]', or [T, N]. */
function parseField(spec: unknown, where: string): { elem: ElemType; count: number } {
  if (Array.isArray(spec)) {
    if (spec.length !== 2) invalidArgument(`${where}: an array field is [type, length]`);
    return { elem: parseElem(spec[0], where), count: parseCount(spec[1], where) };
  }
  if (typeof spec === 'string') {
    const m = /^(.+)\[([0-9]+)\]$/.exec(spec);
    if (m !== null) return { elem: parseElem(m[1], where), count: parseCount(Number(m[2]), where) };
  }
  return { elem: parseElem(spec, where), count: 0 };
}

function parseCount(n: unknown, where: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_COUNT) {
    invalidArgument(`${where}: array length must be an integer in [1, ${MAX_COUNT}], got ${String(n)}`);
  }
  return n;
}

/** The laid-out schema: fields with offsets, byteLength, alignment and the canonical text. */
export interface Layout {
  readonly fields: readonly FieldInfo[];
  readonly byteLength: number;
  readonly alignment: number;
  /** Canonical text of the layout (names, types, offsets, size): the input of the layout hash. */
  readonly layoutText: string;
}

/** Lays out `schema` by the rule in this file's header. */
export function layOut(schema: unknown, name: string): Layout {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema) || isNested(schema)) {
    invalidArgument('struct() takes an object of field types, e.g. struct({ id: "u32", price: "f64" })');
  }
  const fields: FieldInfo[] = [];
  let offset = 0;
  let alignment = 1;
  for (const key of Object.keys(schema)) {
    const where = `${name}.${key}`;
    if (!NAME.test(key) || RESERVED.has(key) || key.startsWith('$')) {
      invalidArgument(`${where}: a field name is an identifier (letters, digits, _), not a reserved name`);
    }
    const { elem, count } = parseField((schema as Record<string, unknown>)[key], where);
    const a = elemAlign(elem);
    const size = elemSize(elem) * Math.max(1, count);
    offset = (offset + a - 1) & ~(a - 1);
    if (offset + size > MAX_STRUCT) invalidArgument(`${name}: a struct is at most 2 GiB`);
    fields.push({
      name: key,
      elem,
      count,
      offset,
      size,
      alignment: a,
      typeText: count === 0 ? elemText(elem) : `${elemText(elem)}[${count}]`,
    });
    offset += size;
    if (a > alignment) alignment = a;
  }
  const byteLength = (offset + alignment - 1) & ~(alignment - 1);
  const layoutText = `${fields.map((f) => `${f.name}:${f.typeText}@${f.offset}`).join(';')};#${byteLength}/${alignment}`;
  return { fields, byteLength, alignment, layoutText };
}

/** The byte ranges [start, end) of `layout` that no field covers (padding), to be written as zeros. */
export function paddingOf(fields: readonly FieldInfo[], byteLength: number): [number, number][] {
  const gaps: [number, number][] = [];
  let end = 0;
  for (const f of fields) {
    if (f.offset > end) gaps.push([end, f.offset]);
    end = f.offset + f.size;
  }
  if (byteLength > end) gaps.push([end, byteLength]);
  return gaps;
}

/** 32-bit FNV-1a over the UTF-16 units of `s`, as an unsigned integer. */
export function layoutHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
