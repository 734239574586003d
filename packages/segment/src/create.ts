/**
 * Creating a segment: validate the options, create and reserve the file, write the header with
 * the directory lock in it, publish the magic last (header.ts), or open the existing segment for
 * an open-or-create that finds one.
 */
import { invalidArgument, Region, ShmkitError, validateInteger } from '@shmkit/core';
import { Mutex } from '@shmkit/sync';
import {
  FIXED_HEADER_BYTES,
  type HeaderInfo,
  LOCK_OFFSET,
  layoutFor,
  MAX_OBJECTS,
  MAX_SEGMENT_BYTES,
  publishHeader,
  readHeader,
  type SegmentLayout,
  writeHeader,
} from './header.js';
import { createMappedFile, unlinkMappedFile } from './mapping.js';
import { resolveDir, segmentPath, validateName } from './names.js';
import { type Found, openInitialized } from './open.js';
import { type CreateSegmentOptions, validateFlag } from './options.js';
import { selfStartTime } from './proc.js';
import { ProcessIdentity } from './process-identity.js';
import { adoptSegmentIdentity } from './segment-identity.js';

/** Threads one segment can name by default (each takes 32 bytes of the header). */
export const DEFAULT_THREADS = 128;
/** Named objects one segment can hold by default (each entry takes 96 bytes of the header). */
export const DEFAULT_OBJECTS = 128;

/**
 * The header layout for `maxThreads` and `maxObjects` (defaults applied, INVALID_ARGUMENT when out
 * of range): Segment.create and Segment.headerBytes.
 */
export function headerLayout(o: { maxThreads?: number; maxObjects?: number } | undefined): {
  threads: number;
  objects: number;
  layout: SegmentLayout;
} {
  const threads = validateInteger(
    o?.maxThreads ?? DEFAULT_THREADS,
    'maxThreads',
    1,
    ProcessIdentity.MAX_THREADS,
  );
  const objects = validateInteger(o?.maxObjects ?? DEFAULT_OBJECTS, 'maxObjects', 1, MAX_OBJECTS);
  return { threads, objects, layout: layoutFor(threads, objects) };
}

/** Creates segment `name` (see Segment.create), or opens it for `exclusive: false`. */
export function createSegment(name: string, o: CreateSegmentOptions): { dir: string; found: Found } {
  validateName(name);
  if (typeof o !== 'object' || o === null) invalidArgument('Segment.create needs options { size }');
  const dir = resolveDir(o.dir);
  const mode = validateInteger(o.mode ?? 0o600, 'mode', 0, 0o777);
  const exclusive = o.exclusive ?? true;
  if (typeof exclusive !== 'boolean') invalidArgument('exclusive must be a boolean');
  const allowForeignOwner = validateFlag(o.allowForeignOwner, 'allowForeignOwner');
  const { threads, objects, layout } = headerLayout(o);
  const size = o.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < layout.dataOffset) {
    invalidArgument(
      `size must be an integer of at least ${layout.dataOffset} bytes (the header for ${threads} threads and ` +
        `${objects} objects), got ${String(size)}`,
    );
  }
  if (size > MAX_SEGMENT_BYTES) invalidArgument(`size must be at most ${MAX_SEGMENT_BYTES} bytes`);
  const file = segmentPath(dir, name);
  const what = `segment ${JSON.stringify(name)}`;
  const m = createMappedFile(file, { size, mode, exclusive });
  if (!m.created) {
    // Open-or-create found it: open it as it is, once its creator has finished.
    const found = openInitialized(file, name, 0, allowForeignOwner);
    if (found.info.size !== size) {
      throw new ShmkitError(
        'INCOMPATIBLE',
        `${what} exists with ${found.info.size} bytes, not the ${size} asked for`,
      );
    }
    return { dir, found };
  }
  const buffer = m.buffer!;
  let info: HeaderInfo;
  try {
    const header = new Int32Array(buffer, 0, FIXED_HEADER_BYTES / 4);
    writeHeader(header, size, layout, { pid: process.pid, startTime: selfStartTime() });
    // The header is not published yet, so this thread's identity cannot be found from it:
    // hand it over before the lock below binds to it.
    adoptSegmentIdentity(
      buffer,
      new ProcessIdentity(new Int32Array(buffer, layout.tableOffset, ProcessIdentity.bytesFor(threads) / 4)),
    );
    new Mutex({ region: new Region(buffer, LOCK_OFFSET, Mutex.SIZE, 'futex') });
    publishHeader(header);
    info = readHeader(header, size, what);
  } catch (e) {
    try {
      unlinkMappedFile(file);
    } catch {
      // The error that matters is the first one.
    }
    throw e;
  }
  return { dir, found: { buffer, info } };
}
