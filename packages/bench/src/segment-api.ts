/**
 * Access to @shmkit/segment, loaded on demand: importing it loads a native addon, which may be
 * missing (not built, another Node version, not Linux). Everything else of the bench runs without
 * it; shmkit-process, `shmkit segments` and parts of `shmkit doctor` say why they cannot.
 *
 * Written against the Segment contract of DESIGN.md; the types are local so that this package
 * builds whether or not @shmkit/segment exports `Segment` yet.
 */
import type { Channel, ChannelOptions } from '@shmkit/channel';

/** The part of a Segment the bench uses. */
export interface SegmentLike {
  readonly name: string;
  readonly size: number;
  channel<T>(key: string, o?: Omit<ChannelOptions<T>, 'region'>): Channel<T>;
  close(): void;
  unlink(): void;
  /** Named objects (key, kind, offset, byteLength), when the Segment offers it. */
  objects?(): { key: string; kind: string; offset: number; byteLength: number; params?: unknown }[];
  /** Bytes not yet taken by named objects, when the Segment offers it. */
  readonly free?: number;
}

/** What Segment.list() returns per segment (fields beyond name and size vary). */
export interface SegmentInfoLike {
  name: string;
  size: number;
  [field: string]: unknown;
}

export interface SegmentStatic {
  create(name: string, o: { size: number }): SegmentLike;
  open(name: string, o?: { timeout?: number; dir?: string }): SegmentLike;
  list(o?: { dir?: string }): SegmentInfoLike[];
  unlink(name: string, o?: { dir?: string }): boolean;
}

/** The loaded @shmkit/segment module, loosely typed. */
export type SegmentModule = Record<string, unknown>;

export type Loaded<T> = { ok: true; value: T } | { ok: false; reason: string };

let moduleLoad: Promise<Loaded<SegmentModule>> | undefined;

/** Imports @shmkit/segment once; the reason is the addon loader's message when it fails. */
export function loadSegmentModule(): Promise<Loaded<SegmentModule>> {
  moduleLoad ??= import('@shmkit/segment').then(
    (m) => ({ ok: true as const, value: m as unknown as SegmentModule }),
    (e: unknown) => ({ ok: false as const, reason: (e as Error).message ?? String(e) }),
  );
  return moduleLoad;
}

/** The Segment class, or why it is unavailable. */
export async function loadSegment(): Promise<Loaded<SegmentStatic>> {
  const m = await loadSegmentModule();
  if (!m.ok) return m;
  const Segment = m.value.Segment as SegmentStatic | undefined;
  if (typeof Segment !== 'function') {
    return {
      ok: false,
      reason: '@shmkit/segment does not export Segment in this build (named segments are not available yet)',
    };
  }
  for (const method of ['create', 'open', 'list', 'unlink'] as const) {
    if (typeof Segment[method] !== 'function') {
      return { ok: false, reason: `@shmkit/segment's Segment has no static ${method}()` };
    }
  }
  return { ok: true, value: Segment };
}
