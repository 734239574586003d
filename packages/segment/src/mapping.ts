/**
 * Segment files: create, open, flush and remove the files behind mapped segments, as real
 * SharedArrayBuffers over MAP_SHARED mappings. The Segment class builds names, headers and
 * layouts on top; this module takes full paths and reports failures as ShmkitErrors.
 *
 * POSIX shared memory on Linux is the tmpfs at /dev/shm ({@link SHM_DIR}); a directory on disk
 * gives a persistent memory-mapped file (see {@link flushMappedFile}).
 */
import path from 'node:path';
import { type ErrorCode, invalidArgument, ShmkitError, validateInteger } from '@shmkit/core';
import { type NativeMapping, native } from './native.js';

/** Where POSIX shared memory lives on Linux (what shm_open uses). */
export const SHM_DIR = '/dev/shm';

/** A mapped segment file. */
export interface MappedFile extends NativeMapping {
  readonly path: string;
}

/** Options of {@link createMappedFile}. */
export interface CreateMappedFileOptions {
  /** Bytes; every page is reserved now, so a full /dev/shm fails here (TOO_LARGE), not later. */
  size: number;
  /** Permission bits, applied exactly (the umask does not apply). Default 0o600: this user only. */
  mode?: number;
  /** Fail with EXISTS when the file exists (default). Otherwise an existing file is opened as is. */
  exclusive?: boolean;
}

/**
 * Creates `path` (O_CREAT | O_EXCL | O_NOFOLLOW), reserves `size` zeroed bytes and maps them.
 * Errors: EXISTS, TOO_LARGE (no room: ENOSPC), PERMISSION, NOT_FOUND (no such directory),
 * INVALID_ARGUMENT. On failure nothing is left behind.
 *
 * @example
 * ```ts
 * const f = createMappedFile('/dev/shm/myapp-data', { size: 1 << 20 });
 * const words = new Int32Array(f.buffer!);   // shared with every process that opens the file
 * ```
 */
export function createMappedFile(file: string, o: CreateMappedFileOptions): MappedFile {
  checkPath(file);
  if (typeof o !== 'object' || o === null) invalidArgument('createMappedFile needs { size }');
  validateInteger(o.size, 'size', 1, Number.MAX_SAFE_INTEGER);
  const mode = o.mode ?? 0o600;
  validateInteger(mode, 'mode', 0, 0o777);
  const exclusive = o.exclusive ?? true;
  if (typeof exclusive !== 'boolean') invalidArgument('exclusive must be a boolean');
  try {
    return { ...native().create(file, o.size, mode, exclusive), path: file };
  } catch (e) {
    throw fromNative(e, file, o.size);
  }
}

/**
 * Opens and maps an existing segment file (O_NOFOLLOW). `buffer` is null while the file is still
 * empty (its creator has not reserved it yet): wait and open again. Check `uid` and `mode` before
 * trusting the contents. `mapLimit` maps only the first bytes (a probe: `size` still says the
 * file's size, `mapped` what was mapped). Errors: NOT_FOUND, PERMISSION, INVALID_ARGUMENT (not a
 * regular file: a directory, socket, FIFO or device).
 */
export function openMappedFile(file: string, o?: { mapLimit?: number }): MappedFile {
  checkPath(file);
  const limit =
    o?.mapLimit === undefined ? 0 : validateInteger(o.mapLimit, 'mapLimit', 0, Number.MAX_SAFE_INTEGER);
  try {
    return { ...native().open(file, limit), path: file };
  } catch (e) {
    throw fromNative(e, file);
  }
}

/** Removes a segment file; false when it did not exist. Mappings stay valid until dropped. */
export function unlinkMappedFile(file: string): boolean {
  checkPath(file);
  try {
    return native().unlink(file);
  } catch (e) {
    throw fromNative(e, file);
  }
}

/**
 * Writes the pages under `view` (or the whole buffer) back to the file and waits (msync
 * MS_SYNC): durability for segments in a disk directory. A no-op cost on tmpfs.
 */
export function flushMappedFile(view: SharedArrayBuffer | ArrayBufferView): void {
  const bytes =
    view instanceof SharedArrayBuffer
      ? new Uint8Array(view)
      : ArrayBuffer.isView(view)
        ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
        : invalidArgument('flushMappedFile needs a SharedArrayBuffer or a view of one');
  try {
    native().flush(bytes);
  } catch (e) {
    throw fromNative(e, '');
  }
}

/** What became of a mapping: a peer may have truncated its file (`broken`), or it was released. */
export type MappingState = 'intact' | 'broken' | 'released' | 'unknown';

const STATES: readonly MappingState[] = ['unknown', 'intact', 'broken', 'released'];

/**
 * The state of the mapping under `buffer`: `broken` once another process truncated the file
 * under it (the lost pages now read zeros in this process only; see docs/reliability.md),
 * `released` after {@link releaseMapping}, `unknown` for memory the addon did not map.
 *
 * @example
 * ```ts fragment
 * if (mappingState(f.buffer!) === 'broken') console.warn(`${f.path} was truncated by another process`);
 * ```
 */
export function mappingState(buffer: SharedArrayBuffer): MappingState {
  if (buffer.byteLength === 0) return 'unknown';
  return STATES[native().mappingState(new Uint8Array(buffer, 0, 1))] ?? 'unknown';
}

/**
 * Drops this process's mapping of `buffer` now: its pages are replaced by private zero pages, so
 * the file's memory is freed as soon as no other process maps it (an unlinked segment's memory
 * goes back at once instead of when V8 collects the buffer). Every view of it in every thread of
 * this process then reads zeros and waits on it fail with CLOSED.
 *
 * @example
 * ```ts fragment
 * unlinkMappedFile(f.path);
 * releaseMapping(f.buffer!);   // the memory is free now
 * ```
 */
export function releaseMapping(buffer: SharedArrayBuffer): void {
  try {
    native().release(new Uint8Array(buffer, 0, 1));
  } catch (e) {
    throw fromNative(e, '');
  }
}

function checkPath(file: unknown): asserts file is string {
  if (typeof file !== 'string' || !path.isAbsolute(file) || file.includes('\0')) {
    invalidArgument(`a segment file path must be an absolute path, got ${JSON.stringify(file)}`);
  }
}

/**
 * errno -> error code, per system call: the same errno means different things after different
 * calls (ENOMEM after mmap is a full address space, after msync a range that is not mapped).
 * The addon reports the call that failed as `syscall`; an errno a call's table does not list is
 * UNSUPPORTED, with the call and errno in the message.
 */
const CODES_BY_CALL: Record<string, Record<string, ErrorCode>> = {
  open: {
    EEXIST: 'EXISTS',
    ENOENT: 'NOT_FOUND',
    ENOTDIR: 'NOT_FOUND',
    EACCES: 'PERMISSION',
    EPERM: 'PERMISSION',
    EROFS: 'PERMISSION',
    ELOOP: 'PERMISSION',
    ETXTBSY: 'PERMISSION',
    // A directory, socket or device under a segment's name: not a segment.
    EISDIR: 'INVALID_ARGUMENT',
    ENXIO: 'INVALID_ARGUMENT',
    ENODEV: 'INVALID_ARGUMENT',
    EOPNOTSUPP: 'INVALID_ARGUMENT',
    ENAMETOOLONG: 'INVALID_ARGUMENT',
    EINVAL: 'INVALID_ARGUMENT',
    ENOSPC: 'TOO_LARGE',
    EDQUOT: 'TOO_LARGE',
    EMFILE: 'TOO_LARGE',
    ENFILE: 'TOO_LARGE',
  },
  // The addon's own check that the file is a regular file (a FIFO planted under the name).
  S_ISREG: { EINVAL: 'INVALID_ARGUMENT' },
  fchmod: { EPERM: 'PERMISSION', EROFS: 'PERMISSION' },
  posix_fallocate: { ENOSPC: 'TOO_LARGE', EFBIG: 'TOO_LARGE', EDQUOT: 'TOO_LARGE', EINVAL: 'TOO_LARGE' },
  ftruncate: { EFBIG: 'TOO_LARGE', EINVAL: 'TOO_LARGE', EPERM: 'PERMISSION' },
  // mmap: no room in the address space (ENOMEM), or a length it cannot map (EINVAL, EOVERFLOW).
  mmap: {
    ENOMEM: 'TOO_LARGE',
    EINVAL: 'TOO_LARGE',
    EOVERFLOW: 'TOO_LARGE',
    EACCES: 'PERMISSION',
    EPERM: 'PERMISSION',
    ENODEV: 'INVALID_ARGUMENT',
  },
  unlink: {
    EACCES: 'PERMISSION',
    EPERM: 'PERMISSION',
    EROFS: 'PERMISSION',
    EBUSY: 'PERMISSION',
    EISDIR: 'INVALID_ARGUMENT',
    ENOTDIR: 'NOT_FOUND',
  },
  // msync: ENOMEM is a range that is not mapped (not a segment's memory); EFAULT our report of a
  // mapping whose file another process truncated; EBADF of one released with close({ unmap }).
  msync: { ENOMEM: 'INVALID_ARGUMENT', EINVAL: 'INVALID_ARGUMENT', EFAULT: 'CORRUPT', EBADF: 'CLOSED' },
  // futex: EFAULT means the word's page is gone (the file was truncated under it).
  futex: { EFAULT: 'CORRUPT', EINVAL: 'INVALID_ARGUMENT', ENOSYS: 'UNSUPPORTED' },
  release: { EINVAL: 'INVALID_ARGUMENT' },
  mappingState: { EINVAL: 'INVALID_ARGUMENT' },
};

/** A ShmkitError for an error thrown by the addon, keeping it as `cause`. */
export function fromNative(e: unknown, file: string, size?: number): unknown {
  if (e instanceof ShmkitError) return e;
  const err = e as { code?: unknown; message?: unknown; syscall?: unknown };
  const errno = typeof err.code === 'string' ? err.code : '';
  const call = typeof err.syscall === 'string' ? err.syscall : '';
  const detail = String(err.message ?? e);
  // No syscall: an argument the addon refused (its TypeErrors carry EINVAL).
  const code =
    call === ''
      ? errno === 'EINVAL'
        ? 'INVALID_ARGUMENT'
        : 'UNSUPPORTED'
      : (CODES_BY_CALL[call]?.[errno] ?? 'UNSUPPORTED');
  let message: string;
  if (code === 'EXISTS') message = `${file} already exists (EEXIST): open it, or remove it first`;
  else if (code === 'NOT_FOUND' && call === 'open') message = `${file} does not exist (${errno})`;
  else if (code === 'TOO_LARGE' && (errno === 'ENOSPC' || errno === 'EDQUOT')) {
    message = `no room for ${size ?? 'the'} bytes in ${path.dirname(file)} (${errno} from ${call}): free space there or ask for less; tmpfs (/dev/shm) is sized to half the RAM by default`;
  } else if (errno === 'ELOOP') {
    message = `${file} is a symbolic link, which segment files never follow (ELOOP)`;
  } else if (
    code === 'INVALID_ARGUMENT' &&
    (call === 'S_ISREG' || call === 'open') &&
    errno !== 'ENAMETOOLONG'
  ) {
    message = `${file} is not a regular file (a directory, socket, FIFO or device is under that name), so it is not a segment (${errno} from ${call})`;
  } else if (code === 'PERMISSION') message = `permission denied: ${detail}`;
  else if (code === 'CORRUPT') {
    message = `the segment's memory is gone: another process truncated its file (${errno} from ${call})`;
  } else if (code === 'CLOSED')
    message = `the segment's mapping was released with close({ unmap: true }) (${call})`;
  else message = detail;
  return new ShmkitError(code, message, { cause: e });
}
