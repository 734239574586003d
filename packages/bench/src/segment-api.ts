/**
 * Access to @shmkit/segment, loaded on demand: importing it loads a native addon, which may be
 * missing (not built, another Node version, not Linux). Everything else of the bench runs without
 * it; shmkit-process*, `shmkit segments` and parts of `shmkit doctor` say why they cannot. Other
 * files import only types from @shmkit/segment, or go through here.
 *
 * The types are the real ones: a type-only import loads nothing at run time.
 */
import type { Segment } from '@shmkit/segment';

export type { Segment };

/** The Segment class (its statics: create, open, list, unlink). */
export type SegmentStatic = typeof Segment;

/** The loaded @shmkit/segment module. */
export type SegmentModule = typeof import('@shmkit/segment');

export type Loaded<T> = { ok: true; value: T } | { ok: false; reason: string };

let moduleLoad: Promise<Loaded<SegmentModule>> | undefined;

/** Imports @shmkit/segment once; the reason is the addon loader's message when it fails. */
export function loadSegmentModule(): Promise<Loaded<SegmentModule>> {
  moduleLoad ??= import('@shmkit/segment').then(
    (m) => ({ ok: true as const, value: m }),
    (e: unknown) => ({ ok: false as const, reason: (e as Error).message ?? String(e) }),
  );
  return moduleLoad;
}

/** The Segment class, or why it is unavailable. */
export async function loadSegment(): Promise<Loaded<SegmentStatic>> {
  const m = await loadSegmentModule();
  return m.ok ? { ok: true, value: m.value.Segment } : m;
}
