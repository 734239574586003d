/**
 * RingBuffer's element copies and the checks of the caller's arguments: no allocation, and no
 * error other than a ShmkitError whatever the caller passes.
 */
import { invalidArgument, ShmkitError } from '@shmkit/core';
import type { TypedArray } from './ring-buffer-layout.js';

/**
 * How many elements a push/pop of `elements` from `offset` may move: `length`, capped at the end of
 * `elements` (ringbuf.js reads or writes past it instead: NaN pushed, popped elements lost).
 */
export function count(elements: TypedArray, length: number | undefined, offset: number): number {
  const size = elements?.length;
  if (typeof size !== 'number' || offset >>> 0 !== offset || offset > size) {
    invalidArgument(`offset must be an integer in [0, elements.length], got ${String(offset)}`);
  }
  const room = size - offset;
  if (length === undefined) return room;
  if (length >>> 0 !== length)
    invalidArgument(`length must be a non-negative integer, got ${String(length)}`);
  return length < room ? length : room;
}

/** Mixing bigint and number arrays is the one way a copy between typed arrays can throw. */
function badElements(e: unknown, what: string): never {
  throw new ShmkitError('INVALID_ARGUMENT', `cannot ${what} these elements: ${String(e)}`, { cause: e });
}

// copyIn and copyOut are alike on purpose: they are on push's and pop's hot path, and one shared
// function taking the verb as an argument measured up to ~5% slower there (one thread, CPU time;
// within the noise of a loaded machine, so the cheaper-looking shape stays).

export function copyIn(
  input: TypedArray,
  inOffset: number,
  output: TypedArray,
  outOffset: number,
  n: number,
): void {
  try {
    copy(input, inOffset, output, outOffset, n);
  } catch (e) {
    badElements(e, 'push');
  }
}

export function copyOut(
  input: TypedArray,
  inOffset: number,
  output: TypedArray,
  outOffset: number,
  n: number,
): void {
  try {
    copy(input, inOffset, output, outOffset, n);
  } catch (e) {
    badElements(e, 'pop into');
  }
}

/** Copies without allocating: set() for a whole array, an element loop for part of one. */
function copy(input: TypedArray, inOffset: number, output: TypedArray, outOffset: number, n: number): void {
  if (n <= 0) return;
  const src = input as Float64Array;
  const dst = output as Float64Array;
  if (inOffset === 0 && n === src.length) {
    dst.set(src, outOffset);
    return;
  }
  // Unrolled by 8: the element loop is the cost of every wrapped or offset copy and every pop.
  let i = 0;
  for (const end8 = n - 7; i < end8; i += 8) {
    const a = outOffset + i;
    const b = inOffset + i;
    dst[a] = src[b]!;
    dst[a + 1] = src[b + 1]!;
    dst[a + 2] = src[b + 2]!;
    dst[a + 3] = src[b + 3]!;
    dst[a + 4] = src[b + 4]!;
    dst[a + 5] = src[b + 5]!;
    dst[a + 6] = src[b + 6]!;
    dst[a + 7] = src[b + 7]!;
  }
  for (; i < n; i++) dst[outOffset + i] = src[inOffset + i]!;
}
