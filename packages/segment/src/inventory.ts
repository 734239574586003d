/**
 * The inventory of segment files in a directory: what `Segment.list()` and `shmkit segments`
 * show. Reads each header with plain reads (no mapping), and tolerates every field: a file with
 * the magic is listed whatever else its header holds (any process can write it).
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { ShmkitError } from '@shmkit/core';
import { FIXED_HEADER_BYTES, MAGIC, readCreator, readHeader, W_COUNT, W_MAGIC } from './header.js';
import { FILE_PREFIX, nameProblem } from './names.js';
import { isProcessAlive } from './proc.js';

/** One segment file, as {@link Segment.list} reports it. */
export interface SegmentInfo {
  readonly name: string;
  readonly path: string;
  /** Bytes of the file. */
  readonly size: number;
  /** Owner and permission bits of the file. */
  readonly uid: number;
  readonly mode: number;
  /**
   * `ok`: a segment this shmkit can open. `incompatible`: another layout version. `corrupt`: the
   * magic is there, the rest is not right. `unreadable`: no permission to read its header.
   */
  readonly status: 'ok' | 'incompatible' | 'corrupt' | 'unreadable';
  /** Pid of the process that created it (0 when unknown). */
  readonly creatorPid: number;
  /** Whether that very process still runs (pid and start time match, not a zombie). */
  readonly creatorAlive: boolean;
  /**
   * When it was created (for `unreadable` ones: the file's change time); undefined when the
   * header holds no valid time (any process can write it).
   */
  readonly created: Date | undefined;
  /** Named objects it holds. */
  readonly objects: number;
}

/** The segments in `dir`, by name (see Segment.list). */
export function listSegments(dir: string): SegmentInfo[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ShmkitError('PERMISSION', `cannot list ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const out: SegmentInfo[] = [];
  for (const file of files.sort()) {
    if (!file.startsWith(FILE_PREFIX)) continue;
    const name = file.slice(FILE_PREFIX.length);
    if (nameProblem(name) !== undefined) continue;
    const info = describeFile(path.join(dir, file), name);
    if (info !== undefined) out.push(info);
  }
  return out;
}

/** A Date for `ms` since the epoch, or undefined when it is no valid time (read from shared memory). */
export function dateOf(ms: number): Date | undefined {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** What list() says about one `shmkit.*` file; undefined for a file that is not a segment. */
function describeFile(file: string, name: string): SegmentInfo | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under our prefix must not block the listing.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return undefined;
    return unreadable(file, name);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const bytes = new Uint8Array(FIXED_HEADER_BYTES);
    if (readSync(fd, bytes, 0, bytes.length, 0) < bytes.length) return undefined;
    const i32 = new Int32Array(bytes.buffer);
    if (Atomics.load(i32, W_MAGIC) !== MAGIC) return undefined;
    let status: SegmentInfo['status'] = 'ok';
    try {
      readHeader(i32, st.size, 'segment');
    } catch (e) {
      status = ShmkitError.is(e, 'INCOMPATIBLE') ? 'incompatible' : 'corrupt';
    }
    const creator = readCreator(i32);
    return fileInfo(file, name, st, {
      status,
      creatorPid: Math.max(0, creator.pid),
      creatorAlive: creator.pid > 0 && isProcessAlive(creator.pid, creator.startTime),
      created: dateOf(creator.created),
      objects: Math.max(0, i32[W_COUNT]!),
    });
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A file under our prefix that this user may not read: what its directory entry says. */
function unreadable(file: string, name: string): SegmentInfo | undefined {
  try {
    const st = lstatSync(file);
    if (!st.isFile()) return undefined;
    return fileInfo(file, name, st, {
      status: 'unreadable',
      creatorPid: 0,
      creatorAlive: false,
      created: dateOf(st.ctimeMs),
      objects: 0,
    });
  } catch {
    return undefined;
  }
}

/** The fields of a SegmentInfo that the file's stat gives, with those its header gave. */
function fileInfo(
  file: string,
  name: string,
  st: Stats,
  header: Omit<SegmentInfo, 'name' | 'path' | 'size' | 'uid' | 'mode'>,
): SegmentInfo {
  return { name, path: file, size: st.size, uid: st.uid, mode: st.mode & 0o7777, ...header };
}
