/**
 * Opening a segment file once its creator has finished: the protocol written once for the blocking
 * and async opens, as a generator that yields each pause it needs; and the other way a Segment
 * object finds its memory, a handle from another thread of this process.
 *
 * While the file exists but its header is not complete (no magic yet), only its first page is
 * mapped on each poll, so a planted huge (sparse) file costs no address space; the whole file is
 * mapped once the header checks out. A creator that died before finishing is CORRUPT at once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  abortedError,
  Deadline,
  invalidArgument,
  ShmkitError,
  throwIfAborted,
  validateAsyncOptions,
  validateTimeout,
} from '@shmkit/core';
import { corrupt, FIXED_HEADER_BYTES, type HeaderInfo, readCreator, readHeader, W_MAGIC } from './header.js';
import { type MappedFile, openMappedFile } from './mapping.js';
import { resolveDir, segmentPath, validateName } from './names.js';
import { type OpenSegmentOptions, type SegmentHandle, validateFlag } from './options.js';
import { isProcessAlive } from './proc.js';

/**
 * How long an open waits, even without a timeout, for a segment whose file exists but whose
 * creator is still reserving its memory or writing its header (a 1 GiB segment takes a while).
 */
const INIT_GRACE_MS = 2000;
/**
 * Bytes an open maps while it waits for the magic: one page holds the fixed header, so polling a
 * planted huge (sparse) file costs no address space. The whole file is mapped once the header
 * checks out.
 */
const PROBE_BYTES = 4096;

/** A segment file, mapped whole, with its validated header. */
export interface Found {
  readonly buffer: SharedArrayBuffer;
  readonly info: HeaderInfo;
}

/** Where and how Segment.open / openAsync look for segment `name`: its options, validated. */
export interface OpenRequest {
  readonly name: string;
  readonly dir: string;
  readonly file: string;
  readonly timeout: number;
  readonly allowForeignOwner: boolean;
}

/** Validates the arguments of Segment.open / openAsync (INVALID_ARGUMENT). */
export function openRequest(name: string, o: OpenSegmentOptions | undefined): OpenRequest {
  validateName(name);
  if (o !== undefined && (typeof o !== 'object' || o === null)) invalidArgument('options must be an object');
  const timeout = o?.timeout === undefined ? 0 : validateTimeout(o.timeout);
  const dir = resolveDir(o?.dir);
  const allowForeignOwner = validateFlag(o?.allowForeignOwner, 'allowForeignOwner');
  return { name, dir, file: segmentPath(dir, name), timeout, allowForeignOwner };
}

/** Segment.open: {@link openInitialized}, blocking this thread between tries. */
export function openSegment(r: OpenRequest): Found {
  return openInitialized(r.file, r.name, r.timeout, r.allowForeignOwner);
}

/** Segment.openAsync: the same steps, pausing with timers; ABORTED when `signal` fires. */
export async function openSegmentAsync(r: OpenRequest, signal: AbortSignal | undefined): Promise<Found> {
  ({ signal } = validateAsyncOptions({ signal }));
  throwIfAborted(signal);
  const steps = openSteps(r.file, r.name, r.timeout, r.allowForeignOwner);
  for (let s = steps.next(); ; s = steps.next()) {
    if (s.done) return s.value;
    try {
      await delay(s.value, undefined, { signal });
    } catch (e) {
      if (signal?.aborted) throw abortedError(signal);
      throw e;
    }
  }
}

/**
 * Segment.from: the memory behind a handle posted by another thread of this process, its header
 * read again (the handle is only as trustworthy as the memory it names).
 */
export function fromHandle(handle: SegmentHandle): { name: string; dir: string; found: Found } {
  if (typeof handle !== 'object' || handle === null) invalidArgument('Segment.from needs a handle object');
  const h = handle as Partial<SegmentHandle>;
  if (h.type !== 'Segment') {
    throw new ShmkitError('INCOMPATIBLE', `this handle is for a ${String(h.type)}, not a Segment`);
  }
  const name = validateName(h.name);
  const dir = resolveDir(h.dir);
  if (!(h.buffer instanceof SharedArrayBuffer)) invalidArgument('handle.buffer must be a SharedArrayBuffer');
  if (h.size !== h.buffer.byteLength) invalidArgument('handle.size does not match its buffer');
  const what = `segment ${JSON.stringify(name)}`;
  if (h.buffer.byteLength < FIXED_HEADER_BYTES) throw corrupt(what, 'too small for a segment header');
  const info = readHeader(new Int32Array(h.buffer, 0, FIXED_HEADER_BYTES / 4), h.buffer.byteLength, what);
  return { name, dir, found: { buffer: h.buffer, info } };
}

/** Opens the file of segment `name` once its header is complete, sleeping between tries. */
export function openInitialized(
  file: string,
  name: string,
  timeout: number,
  allowForeignOwner: boolean,
): Found {
  const steps = openSteps(file, name, timeout, allowForeignOwner);
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    sleep(r.value);
  }
}

/**
 * The open protocol, written once for the blocking and async opens: yields each pause (ms) it
 * needs. Waits up to `timeout` ms for the file to appear, and while it exists but its header is
 * not complete, at least INIT_GRACE_MS (its creator is reserving memory or writing the header).
 * A creator that died before finishing is CORRUPT at once.
 */
export function* openSteps(
  file: string,
  name: string,
  timeout: number,
  allowForeignOwner: boolean,
): Generator<number, Found, void> {
  const what = `segment ${JSON.stringify(name)}`;
  const deadline = new Deadline(timeout);
  let seenAt = -1;
  let pause = 1;
  for (;;) {
    let m: MappedFile | undefined;
    try {
      // A fresh mapping each try (one made while the creator was still sizing the file is stale),
      // of the header page only until the magic is there.
      m = openMappedFile(file, { mapLimit: PROBE_BYTES });
    } catch (e) {
      if (!ShmkitError.is(e, 'NOT_FOUND')) throw e;
    }
    if (m !== undefined) {
      checkOwner(m, what, allowForeignOwner);
      const probe = m.buffer;
      if (probe !== null) {
        if (m.size < FIXED_HEADER_BYTES) {
          throw corrupt(what, `${m.size} bytes is too small for a segment header`);
        }
        const header = new Int32Array(probe, 0, FIXED_HEADER_BYTES / 4);
        // acquire: pairs with publishHeader (readHeader loads it again and checks it).
        if (Atomics.load(header, W_MAGIC) !== 0) {
          readHeader(header, m.size, what); // every check before mapping the whole file
          const full = openMappedFile(file);
          checkOwner(full, what, allowForeignOwner);
          const buffer = full.buffer;
          if (buffer === null || buffer.byteLength < FIXED_HEADER_BYTES) {
            throw corrupt(what, 'its file shrank while it was being opened');
          }
          return {
            buffer,
            info: readHeader(new Int32Array(buffer, 0, FIXED_HEADER_BYTES / 4), buffer.byteLength, what),
          };
        }
        const creator = readCreator(header);
        if (creator.pid !== 0 && !isProcessAlive(creator.pid, creator.startTime)) {
          throw corrupt(
            what,
            `its creator (pid ${creator.pid}) died before it finished the header: remove it with Segment.unlink(${JSON.stringify(name)})`,
          );
        }
      }
      if (seenAt < 0) seenAt = performance.now();
    }
    let left = deadline.remaining();
    if (m !== undefined) left = Math.max(left, INIT_GRACE_MS - (performance.now() - seenAt));
    if (left <= 0) {
      throw new ShmkitError(
        'NOT_FOUND',
        m === undefined
          ? `${what} does not exist (${file})${timeout > 0 ? `, nor appeared within ${timeout} ms` : ''}`
          : `${what} exists but its creator has not finished creating it (${file}); if no process is creating it, remove it`,
      );
    }
    yield Math.min(pause, left);
    pause = Math.min(pause * 2, 50);
  }
}

function checkOwner(m: MappedFile, what: string, allowForeignOwner: boolean): void {
  const uid = process.getuid?.();
  if (!allowForeignOwner && uid !== undefined && m.uid !== uid) {
    throw new ShmkitError(
      'PERMISSION',
      `${what} belongs to uid ${m.uid}, not to this user (uid ${uid}): another user could change or remove it ` +
        'under you; pass { allowForeignOwner: true } if you trust that user',
    );
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` milliseconds. */
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
