/**
 * Named structs in a segment (seg.struct / seg.structArray). The segment does not depend on
 * @shmkit/struct: it takes any type with the shape below (StructType has it), and stores the
 * layout hash in the directory entry so that a caller with another layout gets INCOMPATIBLE.
 *
 * Entry params: p0 = layout hash (int32), p1 = element count, p2 = element byteLength, with
 * ARRAY_FLAG set for structArray (so a struct and a one-element structArray of one key never alias).
 * The region is plain data, zeroed when created (no type tag).
 */
import { invalidArgument, validateInteger } from '@shmkit/core';
import { ObjectKind, type ObjectSpec } from './directory.js';

/** What seg.struct / seg.structArray need of a struct type (StructType of @shmkit/struct). */
export interface SegmentStructType<V, A> {
  readonly name?: string;
  readonly byteLength: number;
  readonly alignment: number;
  readonly layoutHash: number;
  view(buffer: SharedArrayBuffer, byteOffset: number): V;
  array(buffer: SharedArrayBuffer, byteOffset: number, length: number): A;
}

export const ARRAY_FLAG = 0x40000000;
const MAX_ELEMENT = ARRAY_FLAG - 1;

/** The directory spec of `length` structs of `type` (validated). */
export function structSpec(
  type: SegmentStructType<unknown, unknown>,
  length: number,
  array: boolean,
): ObjectSpec {
  const t = type as Partial<SegmentStructType<unknown, unknown>> | null;
  if (
    typeof t !== 'object' ||
    t === null ||
    typeof t.byteLength !== 'number' ||
    typeof t.layoutHash !== 'number' ||
    typeof t.view !== 'function' ||
    typeof t.array !== 'function'
  ) {
    invalidArgument('a struct type is made by struct() of @shmkit/struct');
  }
  validateInteger(t.byteLength, 'struct byteLength', 1, MAX_ELEMENT);
  validateInteger(length, 'length', 1, 2 ** 31 - 1);
  return {
    kind: ObjectKind.Struct,
    byteLength: t.byteLength! * length,
    p0: t.layoutHash! | 0,
    p1: length,
    p2: t.byteLength! | (array ? ARRAY_FLAG : 0),
  };
}

/** The bytes a struct entry with these params spans; undefined when they make no sense. */
export function structLength(p1: number, p2: number): number | undefined {
  const element = p2 & MAX_ELEMENT;
  if (!(p1 >= 1 && element >= 1) || (p2 & ~(MAX_ELEMENT | ARRAY_FLAG)) !== 0) return undefined;
  return p1 * element;
}

export function describeStruct(s: ObjectSpec): string {
  return `layout hash ${(s.p0 >>> 0).toString(16)}, ${s.p1} x ${s.p2 & MAX_ELEMENT} bytes${s.p2 & ARRAY_FLAG ? ' (structArray)' : ''}`;
}
