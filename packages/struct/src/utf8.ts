/**
 * Fixed-capacity UTF-8 string fields: N bytes, the string's UTF-8 bytes then zeros. A string ends
 * at its first zero byte or at N (so a string may not contain U+0000). A nullable field stores null
 * as a first byte 0xFF, which never starts valid UTF-8.
 *
 * Decoding never hands a view of shared memory to TextDecoder (browsers refuse shared views): ASCII
 * is decoded by hand, anything else is copied into a private buffer first. Bytes that are not
 * valid UTF-8 are CORRUPT: shared memory is untrusted.
 */
import { invalidArgument, ShmkitError } from '@shmkit/core';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
let scratch = new Uint8Array(256);

export const NULL_MARK = 0xff;

/** Writes `s` into the `n` bytes at `at`; INVALID_ARGUMENT when it is not a string or does not fit. */
export function writeUtf8(
  u8: Uint8Array,
  at: number,
  n: number,
  nullable: boolean,
  s: unknown,
  what: string,
): void {
  if (typeof s !== 'string') {
    if (s === null && nullable) {
      u8[at] = NULL_MARK;
      u8.fill(0, at + 1, at + n);
      return;
    }
    invalidArgument(`${what} must be a string${nullable ? ' or null' : ''}, got ${describe(s)}`);
  }
  const len = s.length;
  if (len > n) tooLong(s, n, what);
  // Two passes, so that a refused string leaves the field as it was.
  let ascii = true;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    for (let i = 0; i < len; i++) u8[at + i] = s.charCodeAt(i);
    if (len < n) u8.fill(0, at + len, at + n);
    return;
  }
  // Not plain ASCII: check, encode into private memory, then copy.
  if (s.includes('\u0000')) invalidArgument(`${what} cannot hold U+0000 (it ends a string field)`);
  if (!isWellFormed(s)) invalidArgument(`${what}: the string has a lone surrogate, which UTF-8 cannot carry`);
  if (scratch.length < len * 3) scratch = new Uint8Array(len * 3);
  const written = encoder.encodeInto(s, scratch).written;
  if (written > n) tooLong(s, n, what);
  u8.set(scratch.subarray(0, written), at);
  u8.fill(0, at + written, at + n);
}

/** Reads the string field of `n` bytes at `at`. CORRUPT when its bytes are not UTF-8. */
export function readUtf8(
  u8: Uint8Array,
  at: number,
  n: number,
  nullable: boolean,
  what: string,
): string | null {
  if (nullable && u8[at] === NULL_MARK) return null;
  // The ASCII prefix, up to the terminating zero.
  let len = 0;
  for (; len < n; len++) {
    const b = u8[at + len]!;
    if (b === 0 || b >= 0x80) break;
  }
  if (len === n || u8[at + len] === 0) return ascii(u8, at, len);
  let end = len;
  while (end < n && u8[at + end] !== 0) end++;
  if (scratch.length < n) scratch = new Uint8Array(n);
  const copy = scratch.subarray(0, end);
  copy.set(u8.subarray(at, at + end));
  try {
    return decoder.decode(copy);
  } catch (e) {
    throw new ShmkitError('CORRUPT', `${what} holds bytes that are not UTF-8`, { cause: e });
  }
}

/**
 * `len` ASCII bytes as a string, eight characters per fromCharCode call: about twice as fast as
 * one call per character here, and it needs no view of the (possibly shared) memory.
 */
function ascii(u8: Uint8Array, at: number, len: number): string {
  let s = '';
  let k = at;
  const end = at + len;
  for (; k + 8 <= end; k += 8) {
    s += String.fromCharCode(
      u8[k]!,
      u8[k + 1]!,
      u8[k + 2]!,
      u8[k + 3]!,
      u8[k + 4]!,
      u8[k + 5]!,
      u8[k + 6]!,
      u8[k + 7]!,
    );
  }
  for (; k + 4 <= end; k += 4) s += String.fromCharCode(u8[k]!, u8[k + 1]!, u8[k + 2]!, u8[k + 3]!);
  for (; k < end; k++) s += String.fromCharCode(u8[k]!);
  return s;
}

function isWellFormed(s: string): boolean {
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof f === 'function') return f.call(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

function tooLong(s: string, n: number, what: string): never {
  return invalidArgument(
    `${what} holds at most ${n} UTF-8 bytes; ${JSON.stringify(s.slice(0, 40))} is longer`,
  );
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object') return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object';
  return typeof v === 'number' || typeof v === 'boolean' || v === undefined ? String(v) : typeof v;
}
