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
 * trusting the contents. Errors: NOT_FOUND, PERMISSION, INVALID_ARGUMENT (not a regular file).
 */
export function openMappedFile(file: string): MappedFile {
  checkPath(file);
  try {
    return { ...native().open(file), path: file };
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

function checkPath(file: unknown): asserts file is string {
  if (typeof file !== 'string' || !path.isAbsolute(file) || file.includes('\0')) {
    invalidArgument(`a segment file path must be an absolute path, got ${JSON.stringify(file)}`);
  }
}

const CODES: Record<string, ErrorCode> = {
  EEXIST: 'EXISTS',
  ENOENT: 'NOT_FOUND',
  ENOTDIR: 'NOT_FOUND',
  EACCES: 'PERMISSION',
  EPERM: 'PERMISSION',
  EROFS: 'PERMISSION',
  ELOOP: 'PERMISSION',
  ENOSPC: 'TOO_LARGE',
  EFBIG: 'TOO_LARGE',
  ENOMEM: 'TOO_LARGE',
  EDQUOT: 'TOO_LARGE',
  EINVAL: 'INVALID_ARGUMENT',
};

/** A ShmkitError for an error thrown by the addon, keeping it as `cause`. */
export function fromNative(e: unknown, file: string, size?: number): unknown {
  if (e instanceof ShmkitError) return e;
  const err = e as { code?: unknown; message?: unknown; syscall?: unknown };
  const errno = typeof err.code === 'string' ? err.code : '';
  const detail = String(err.message ?? e);
  const code = CODES[errno] ?? 'UNSUPPORTED';
  let message: string;
  switch (errno) {
    case 'EEXIST':
      message = `${file} already exists (EEXIST): open it, or remove it first`;
      break;
    case 'ENOENT':
      message = `${file} does not exist (ENOENT)`;
      break;
    case 'ENOSPC':
    case 'EDQUOT':
      message = `no room for ${size ?? 'the'} bytes in ${path.dirname(file)} (${errno} from ${String(err.syscall)}): free space there or ask for less; tmpfs (/dev/shm) is sized to half the RAM by default`;
      break;
    case 'ELOOP':
      message = `${file} is a symbolic link, which segment files never follow (ELOOP)`;
      break;
    case 'EACCES':
    case 'EPERM':
      message = `permission denied: ${detail}`;
      break;
    default:
      message = detail;
  }
  return new ShmkitError(code, message, { cause: e });
}
