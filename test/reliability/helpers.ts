/**
 * Helpers of the reliability tests: a seeded random generator (every random choice of a test
 * comes from one seed, printed on failure), child processes running the plain-JavaScript fixtures
 * (which import the built packages by name), bounded waits, and the segment names a test uses
 * (all start with one prefix, so leftovers in /dev/shm are easy to find).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Segment, SHM_DIR } from '@shmkit/segment';
import { bounded, type Child, killChildren, spawnFixture } from '../helpers/children.js';

export { bounded, type Child, killChildren };

/** mulberry32: a small seeded generator; the same seed gives the same choices. */
export function rng(seed: number): { next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** The seed of a test: `SHMKIT_SEED` when set, else `fallback` (fixed, so CI is reproducible). */
export function seedFrom(fallback: number): number {
  const s = process.env.SHMKIT_SEED;
  return s === undefined ? fallback : Number(s);
}

/** Every segment these tests name starts with this (its file: `shmkit.` + this). */
export const PREFIX = `rel${process.pid}-`;
let counter = 0;
const named = new Set<string>();

/** A fresh segment name, unlinked by {@link removeSegments}. */
export function segmentName(tag: string): string {
  const name = `${PREFIX}${++counter}-${tag}`;
  named.add(name);
  return name;
}

/** For afterEach: unlinks every segment this process's tests named. */
export function removeSegments(): void {
  for (const name of named) Segment.unlink(name);
  named.clear();
}

/** Segment files of this test process in /dev/shm. */
export function leftoverSegments(): string[] {
  return readdirSync(SHM_DIR).filter((n) => n.startsWith(`shmkit.${PREFIX}`));
}

const fixtures = new URL('./fixtures/', import.meta.url);

/** Runs fixtures/`script` in a new Node process with `args` (and Node options `nodeArgs`). */
export function startChild(
  script: string,
  args: readonly (string | number)[],
  nodeArgs: readonly string[] = [],
): Child {
  return spawnFixture(fixtures, script, args, { nodeArgs });
}

/** The error code `fn` throws, or 'none'. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? `not a ShmkitError: ${String(e)}`;
  }
}

/** Open file descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Mappings of this process whose file name contains `part`. */
export function mappingCount(part: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes(part)).length;
}
