/**
 * Value checks, in two forms that must agree: source snippets for generated accessors, and plain
 * functions for the closure-based fallback. A value that a field cannot hold exactly is refused
 * (INVALID_ARGUMENT), never wrapped or truncated: integers must be integers in range, i64/u64
 * bigints in range, floats numbers (f32: finite values must stay finite), bool booleans.
 * -0 stored into an integer field reads back as 0; f32 rounds to the nearest float32 (documented).
 */
import { invalidArgument, ShmkitError } from '@shmkit/core';
import type { Prim } from './schema.js';
import { describe } from './utf8.js';

/** JS source of an expression true when `x` is NOT a valid value of `p`. */
export function badExpr(p: Prim, x: string): string {
  switch (p) {
    case 'i8':
      return `typeof ${x} !== 'number' || ((${x} << 24) >> 24) !== ${x}`;
    case 'u8':
      return `typeof ${x} !== 'number' || (${x} & 255) !== ${x}`;
    case 'i16':
      return `typeof ${x} !== 'number' || ((${x} << 16) >> 16) !== ${x}`;
    case 'u16':
      return `typeof ${x} !== 'number' || (${x} & 65535) !== ${x}`;
    case 'i32':
      return `typeof ${x} !== 'number' || (${x} | 0) !== ${x}`;
    case 'u32':
      return `typeof ${x} !== 'number' || ${x} >>> 0 !== ${x}`;
    case 'f32':
      return `typeof ${x} !== 'number' || (${x} - ${x} === 0 && Math.fround(${x}) - Math.fround(${x}) !== 0)`;
    case 'f64':
      return `typeof ${x} !== 'number'`;
    case 'bool':
      return `typeof ${x} !== 'boolean'`;
    case 'i64':
      return `typeof ${x} !== 'bigint' || BigInt.asIntN(64, ${x}) !== ${x}`;
    case 'u64':
      return `typeof ${x} !== 'bigint' || BigInt.asUintN(64, ${x}) !== ${x}`;
  }
}

/** The same tests as functions (closure fallback, atomics). */
export const IS_BAD: Readonly<Record<Prim, (x: unknown) => boolean>> = {
  i8: (x) => typeof x !== 'number' || (x << 24) >> 24 !== x,
  u8: (x) => typeof x !== 'number' || (x & 255) !== x,
  i16: (x) => typeof x !== 'number' || (x << 16) >> 16 !== x,
  u16: (x) => typeof x !== 'number' || (x & 65535) !== x,
  i32: (x) => typeof x !== 'number' || (x | 0) !== x,
  u32: (x) => typeof x !== 'number' || x >>> 0 !== x,
  f32: (x) => typeof x !== 'number' || (x - x === 0 && Math.fround(x) - Math.fround(x) !== 0),
  f64: (x) => typeof x !== 'number',
  bool: (x) => typeof x !== 'boolean',
  i64: (x) => typeof x !== 'bigint' || BigInt.asIntN(64, x) !== x,
  u64: (x) => typeof x !== 'bigint' || BigInt.asUintN(64, x) !== x,
};

const RANGE: Readonly<Record<Prim, string>> = {
  i8: 'an integer in [-128, 127]',
  u8: 'an integer in [0, 255]',
  i16: 'an integer in [-32768, 32767]',
  u16: 'an integer in [0, 65535]',
  i32: 'an integer in [-2147483648, 2147483647]',
  u32: 'an integer in [0, 4294967295]',
  f32: 'a number within the float32 range',
  f64: 'a number',
  bool: 'a boolean',
  i64: 'a bigint in [-2^63, 2^63 - 1]',
  u64: 'a bigint in [0, 2^64 - 1]',
};

/** INVALID_ARGUMENT: `what` (Type.field) cannot hold `x`. */
export function badValue(what: string, p: Prim, x: unknown): never {
  return invalidArgument(`${what} is ${p}: it takes ${RANGE[p]}, got ${describe(x)}`);
}

/** INVALID_ARGUMENT: an array field got something that is not an array of its length. */
export function badList(what: string, n: number, x: unknown): never {
  return invalidArgument(
    `${what} takes an array of exactly ${n} elements, got ${describe(x)}${isList(x) ? ` of ${(x as ArrayLike<unknown>).length}` : ''}`,
  );
}

/** INVALID_ARGUMENT: a nested struct field got something that is not an object. */
export function badObject(what: string, x: unknown): never {
  return invalidArgument(`${what} takes an object, got ${describe(x)}`);
}

/** A bool byte other than 0 or 1 was read: the memory is not what this struct wrote. */
export function corruptBool(what: string, b: number): never {
  throw new ShmkitError('CORRUPT', `${what} is bool, but its byte holds ${b}`);
}

export function isList(x: unknown): boolean {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}
