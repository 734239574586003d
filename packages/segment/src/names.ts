/**
 * Segment names, object keys and the files behind segments.
 *
 * A segment named `jobs` is the file `shmkit.jobs` in /dev/shm (or in the directory given as
 * `dir`). The prefix keeps shmkit's files apart from everyone else's: `Segment.list()` looks only
 * at files that carry it, and `Segment.unlink(name)` can only ever remove one of them.
 */
import path from 'node:path';
import { invalidArgument } from '@shmkit/core';
import { SHM_DIR } from './mapping.js';

/** Every segment file's name starts with this. */
export const FILE_PREFIX = 'shmkit.';
/** Longest segment name, in UTF-8 bytes (the file name, prefix included, stays under NAME_MAX 255). */
export const MAX_NAME_BYTES = 200;
/** Longest key of a named object, in UTF-8 bytes (keys are stored in the segment's directory). */
export const MAX_KEY_BYTES = 64;

const encoder = new TextEncoder();

/**
 * Checks a segment name: a non-empty string of at most {@link MAX_NAME_BYTES} UTF-8 bytes, with
 * no '/', no '..', no NUL or other control character. INVALID_ARGUMENT otherwise.
 */
export function validateName(name: unknown): string {
  const problem = nameProblem(name);
  if (problem !== undefined) invalidArgument(`invalid segment name ${describe(name)}: ${problem}`);
  return name as string;
}

/** Why `name` is not a valid segment name, or undefined when it is. */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'a segment name is a string';
  if (name.length === 0) return 'it is empty';
  if (!name.isWellFormed()) return 'it contains a lone surrogate';
  if (name.includes('/')) return "it contains '/': names are not paths (use { dir } for another directory)";
  if (name.includes('..')) return "it contains '..'";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains NUL or another control character';
  if (encoder.encode(name).length > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} UTF-8 bytes`;
  return undefined;
}

/**
 * Encodes a key of a named object: a non-empty, well-formed string of at most
 * {@link MAX_KEY_BYTES} UTF-8 bytes. INVALID_ARGUMENT otherwise.
 */
export function encodeKey(key: unknown): Uint8Array {
  if (typeof key !== 'string' || key.length === 0) {
    invalidArgument(`a key is a non-empty string, got ${describe(key)}`);
  }
  if (!key.isWellFormed()) invalidArgument(`key ${describe(key)} contains a lone surrogate`);
  const bytes = encoder.encode(key);
  if (bytes.length > MAX_KEY_BYTES) {
    invalidArgument(`key ${describe(key)} is ${bytes.length} UTF-8 bytes; the limit is ${MAX_KEY_BYTES}`);
  }
  return bytes;
}

/** The directory of segment files: `dir` resolved to an absolute path, or /dev/shm. */
export function resolveDir(dir: unknown): string {
  if (dir === undefined) return SHM_DIR;
  if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) {
    invalidArgument(`dir must be a non-empty path without NUL, got ${describe(dir)}`);
  }
  return path.resolve(dir);
}

/** The file of segment `name` in `dir`. */
export function segmentPath(dir: string, name: string): string {
  return path.join(dir, FILE_PREFIX + name);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v);
  return v === null ? 'null' : typeof v;
}
