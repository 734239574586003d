/** The option and result types of the Segment API, and the check of its boolean options. */
import type { ChannelOptions } from '@shmkit/channel';
import { invalidArgument } from '@shmkit/core';

/** Options of {@link Segment.create}. */
export interface CreateSegmentOptions {
  /** Bytes of the whole segment, header included (the file's size, fixed for its lifetime). */
  size: number;
  /** Permission bits of the file, applied exactly (default 0o600: this user only). */
  mode?: number;
  /**
   * true (default): EXISTS when a segment of this name exists. false: open it instead (open or
   * create); it must then have the same `size`, or INCOMPATIBLE.
   */
  exclusive?: boolean;
  /** Directory of the file: default /dev/shm (POSIX shared memory); a disk directory persists. */
  dir?: string;
  /** Most named objects (default 128; 96 header bytes each). */
  maxObjects?: number;
  /** Most threads, across all processes, that use the segment at once (default 128; 32 bytes each). */
  maxThreads?: number;
  /** With `exclusive: false`: accept an existing segment owned by another user (default: PERMISSION). */
  allowForeignOwner?: boolean;
}

/** Options of {@link Segment.open}. */
export interface OpenSegmentOptions {
  /** Wait up to this many ms for the segment to be created (default: fail at once with NOT_FOUND). */
  timeout?: number;
  /** Directory of the file (default /dev/shm). */
  dir?: string;
  /** Accept a segment owned by another user (default: PERMISSION). */
  allowForeignOwner?: boolean;
}

/** What `seg.handle` returns: plain structured-clonable data, for {@link Segment.from} in a worker. */
export interface SegmentHandle {
  readonly type: 'Segment';
  readonly name: string;
  readonly dir: string;
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
}

/** A named object of a segment, as {@link Segment.objects} reports it. */
export interface SegmentObjectInfo {
  readonly key: string;
  readonly kind: string;
  readonly offset: number;
  readonly byteLength: number;
  /** Its parameters in words, e.g. "capacity 65536, producers 'one', consumers 'one', codec msgpack". */
  readonly params: string;
}

/** Options of {@link Segment.channel}: those of the Channel constructor, minus the region. */
export type SegmentChannelOptions<T> = Omit<ChannelOptions<T>, 'region'>;

/** `v` as a boolean option (undefined: false; anything else but a boolean: INVALID_ARGUMENT). */
export function validateFlag(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') invalidArgument(`${what} must be a boolean`);
  return v;
}
