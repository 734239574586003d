/**
 * Helpers of the segment tests: unique segment files that are always removed (and the hooks that
 * remove them), child processes running the plain-JavaScript fixtures (which import the built
 * package, as users do), and bounded waits on words of a mapping.
 */
import { readdirSync } from 'node:fs';
import {
  createMappedFile,
  futexWaiter,
  type MappedFile,
  Segment,
  SHM_DIR,
  unlinkMappedFile,
} from '@shmkit/segment';
import { afterAll, afterEach, expect } from 'vitest';
import { bounded, type Child, killChildren, spawnFixture } from '../../../test/helpers/children.js';

export { bounded, type Child, killChildren };

/** Every file a test creates starts with this, so the suite can check none is left. */
export const PREFIX = `shmkit-test-${process.pid}-`;
let counter = 0;
const created = new Set<string>();

/** A fresh path in /dev/shm, removed by {@link removeTestFiles}. */
export function testPath(tag: string): string {
  const p = `${SHM_DIR}/${PREFIX}${++counter}-${tag}`;
  created.add(p);
  return p;
}

/** A new zeroed segment file of `size` bytes (0600). */
export function testFile(tag: string, size = 4096): MappedFile {
  return createMappedFile(testPath(tag), { size });
}

/** For afterEach: unlinks every file this process's tests created. */
export function removeTestFiles(): void {
  for (const p of created) unlinkMappedFile(p);
  created.clear();
}

/** Files of this test process still in /dev/shm. */
export function leftoverFiles(): string[] {
  return readdirSync(SHM_DIR).filter((n) => n.startsWith(PREFIX));
}

/** Every segment a test names starts with this (its file: `shmkit.` + this). */
export const SEGMENT_PREFIX = `t${process.pid}-`;
const segments = new Map<string, string | undefined>();

/** A fresh segment name (in /dev/shm, or `dir`), unlinked by {@link removeTestSegments}. */
export function segmentName(tag: string, dir?: string): string {
  const name = `${SEGMENT_PREFIX}${++counter}-${tag}`;
  segments.set(name, dir);
  return name;
}

/** For afterEach: unlinks every segment this process's tests named. */
export function removeTestSegments(): void {
  for (const [name, dir] of segments) Segment.unlink(name, { dir });
  segments.clear();
}

/** Segment files of this test process still in /dev/shm. */
export function leftoverSegments(): string[] {
  return readdirSync(SHM_DIR).filter((n) => n.startsWith(`shmkit.${SEGMENT_PREFIX}`));
}

/**
 * For a test file whose tests make files with {@link testFile}: after each test, kill the children
 * it started and remove its files; after the last, check that none is left.
 */
export function cleanUpTestFiles(): void {
  afterEach(() => {
    killChildren();
    removeTestFiles();
  });
  afterAll(() => expect(leftoverFiles()).toEqual([]));
}

/** The same for a test file whose tests name segments with {@link segmentName}. */
export function cleanUpTestSegments(): void {
  afterEach(() => {
    killChildren();
    removeTestSegments();
  });
  afterAll(() => expect(leftoverSegments()).toEqual([]));
}

const fixtures = new URL('./fixtures/', import.meta.url);

/** Runs fixtures/`script` in a new Node process with `args` (and extra environment). */
export function startChild(script: string, args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  return spawnFixture(fixtures, script, args, { env });
}

/** Waits (async, bounded) until word `index` of `w` is no longer `value`. */
export async function waitWhile(
  w: Int32Array,
  index: number,
  value: number,
  timeoutMs = 20_000,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (Atomics.load(w, index) === value) {
    const left = end - performance.now();
    if (left <= 0) throw new Error(`word ${index} still ${value} after ${timeoutMs} ms`);
    await futexWaiter.waitAsync(w, index, value, left);
  }
}

/**
 * Wakes one waiter of word `index` without changing the word, retrying until the kernel reports
 * that it woke one: proof that a sleeper was there and was woken by this process's FUTEX_WAKE.
 */
export async function wakeOneSleeper(w: Int32Array, index: number, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (futexWaiter.notify(w, index, 1) === 0) {
    if (performance.now() > end) throw new Error(`nobody slept on word ${index} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
