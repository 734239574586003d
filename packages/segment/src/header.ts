/**
 * The header of a segment: what every process reads at offset 0 before it trusts anything else.
 *
 * Layout (byte offsets; every field is a 32-bit word, 64-bit values are two words, low first):
 * | offset  | size          | field                                               | written by                       |
 * |---------|---------------|-----------------------------------------------------|----------------------------------|
 * | 0       | 4             | magic 'SKsg': the header is complete                | creator, last (publishes it all) |
 * | 4       | 4             | layout version ({@link LAYOUT_VERSION})             | creator                          |
 * | 8       | 8             | total bytes (= the file's size)                     | creator                          |
 * | 16      | 4             | creator pid (0 until the creator starts writing)    | creator, first                   |
 * | 24      | 8             | creator start time, clock ticks since boot          | creator, before the pid          |
 * | 32      | 8             | creation time, ms since the epoch                   | creator                          |
 * | 40      | 8             | segment id: random, tells incarnations of a name apart | creator                       |
 * | 48      | 4             | thread table offset (always 512)                    | creator                          |
 * | 52      | 4             | thread table slots (threads)                        | creator                          |
 * | 56      | 4             | directory offset                                    | creator                          |
 * | 60      | 4             | directory capacity (entries)                        | creator                          |
 * | 64      | 4             | data offset: where objects start (multiple of 128)  | creator                          |
 * | 128     | 8             | directory lock: a Mutex (@shmkit/sync)              | get-or-create, in any process    |
 * | 256     | 4             | entry count: entries [0, count) are complete        | directory lock holder            |
 * | 260     | 4             | bump: next free byte / 128                          | directory lock holder            |
 * | 512     | 32 x threads  | thread table (ProcessIdentity)                      | each thread, its own slot        |
 * | dir     | 96 x capacity | directory entries (see directory.ts)                | directory lock holder            |
 * | data    | ...           | named objects, each at a multiple of 128 bytes      | their own algorithms             |
 *
 * Fields written once by the creator sit on the first cache line; the lock and the allocator state
 * each have a line of their own, so that spinning on the lock does not slow down readers of the
 * header. Offsets and sizes are checked against each other and against the file's size on every
 * open: the file can be written by any process with access to it, so nothing in it is trusted.
 *
 * Creation protocol: the file is created zeroed (O_EXCL), the creator writes its start time, then
 * its pid, then every other field, and stores the magic last with a seq_cst Atomics.store. A
 * reader that loads the magic (Atomics.load, seq_cst) sees every field written before it. A reader
 * that finds no magic but a pid can tell a creator that is still at work from one that died.
 */
import { alignUp, CACHE_LINE, invalidArgument, ShmkitError } from '@shmkit/core';
import { ProcessIdentity } from './process-identity.js';

/** 'SKsg' as a little-endian int32. */
export const MAGIC = 0x6773_4b53;
/** Version of this layout; a segment of another version is INCOMPATIBLE. */
export const LAYOUT_VERSION = 1;
/** Bytes of the fixed part of the header (everything before the thread table). */
export const FIXED_HEADER_BYTES = 512;
/** Bytes of one directory entry. */
export const ENTRY_BYTES = 96;
/** Objects start at multiples of this (a cache line: no false sharing between two objects). */
export const ALLOCATION_UNIT = CACHE_LINE;
/** Most named objects one segment can hold. */
export const MAX_OBJECTS = 65536;
/** Largest segment: offsets are stored in units of 128 bytes in 32-bit words. */
export const MAX_SEGMENT_BYTES = 2 ** 32 * ALLOCATION_UNIT;

// Int32 indices of the fixed header.
export const W_MAGIC = 0;
export const W_VERSION = 1;
export const W_SIZE_LO = 2;
export const W_SIZE_HI = 3;
export const W_CREATOR_PID = 4;
export const W_CREATOR_START_LO = 6;
export const W_CREATOR_START_HI = 7;
export const W_CREATED_LO = 8;
export const W_CREATED_HI = 9;
export const W_ID_LO = 10;
export const W_ID_HI = 11;
export const W_TABLE_OFFSET = 12;
export const W_TABLE_SLOTS = 13;
export const W_DIR_OFFSET = 14;
export const W_DIR_CAPACITY = 15;
export const W_DATA_OFFSET = 16;
/** Byte offset of the directory lock (a Mutex). */
export const LOCK_OFFSET = 128;
export const W_COUNT = 64;
export const W_BUMP = 65;

const TWO_32 = 2 ** 32;

/** Where the parts of a segment are, from the numbers of threads and objects it was made for. */
export interface SegmentLayout {
  readonly threads: number;
  readonly tableOffset: number;
  readonly directoryOffset: number;
  readonly capacity: number;
  readonly dataOffset: number;
}

/** A validated header. */
export interface HeaderInfo extends SegmentLayout {
  readonly size: number;
  readonly version: number;
  readonly creatorPid: number;
  readonly creatorStartTime: number;
  readonly created: number;
  /** The random id, as 16 hex digits. */
  readonly id: string;
}

/** The layout of a segment for `threads` threads and `capacity` named objects. */
export function layoutFor(threads: number, capacity: number): SegmentLayout {
  const tableOffset = FIXED_HEADER_BYTES;
  const directoryOffset = alignUp(tableOffset + ProcessIdentity.bytesFor(threads), ALLOCATION_UNIT);
  const dataOffset = alignUp(directoryOffset + capacity * ENTRY_BYTES, ALLOCATION_UNIT);
  return { threads, tableOffset, directoryOffset, capacity, dataOffset };
}

/**
 * Writes the header of a fresh (zeroed) segment of `size` bytes, magic excepted: the caller
 * publishes it with {@link publishHeader} once the objects in the header are initialized.
 */
export function writeHeader(
  i32: Int32Array,
  size: number,
  layout: SegmentLayout,
  creator: { pid: number; startTime: number },
): void {
  if (size < layout.dataOffset) invalidArgument('segment smaller than its header');
  // Start time before pid: a reader that sees the pid (seq_cst load) sees the start time too, and
  // can tell a creator still at work from a dead one.
  Atomics.store(i32, W_CREATOR_START_LO, creator.startTime % TWO_32);
  Atomics.store(i32, W_CREATOR_START_HI, Math.floor(creator.startTime / TWO_32));
  Atomics.store(i32, W_CREATOR_PID, creator.pid);
  Atomics.store(i32, W_VERSION, LAYOUT_VERSION);
  Atomics.store(i32, W_SIZE_LO, size % TWO_32);
  Atomics.store(i32, W_SIZE_HI, Math.floor(size / TWO_32));
  const now = Date.now();
  Atomics.store(i32, W_CREATED_LO, now % TWO_32);
  Atomics.store(i32, W_CREATED_HI, Math.floor(now / TWO_32));
  const id = crypto.getRandomValues(new Int32Array(2));
  Atomics.store(i32, W_ID_LO, id[0]!);
  Atomics.store(i32, W_ID_HI, id[1]!);
  Atomics.store(i32, W_TABLE_OFFSET, layout.tableOffset);
  Atomics.store(i32, W_TABLE_SLOTS, layout.threads);
  Atomics.store(i32, W_DIR_OFFSET, layout.directoryOffset);
  Atomics.store(i32, W_DIR_CAPACITY, layout.capacity);
  Atomics.store(i32, W_DATA_OFFSET, layout.dataOffset);
  Atomics.store(i32, W_COUNT, 0);
  Atomics.store(i32, W_BUMP, layout.dataOffset / ALLOCATION_UNIT);
}

/** Stores the magic: from here on the segment can be opened. */
export function publishHeader(i32: Int32Array): void {
  // release: seq_cst store after every header field; pairs with the magic load in readHeader.
  Atomics.store(i32, W_MAGIC, MAGIC);
}

/**
 * Reads and validates the header of a segment whose file has `fileSize` bytes. `i32` covers at
 * least the fixed header. CORRUPT when the magic or any field is wrong (a field out of bounds,
 * offsets that disagree with each other, a size other than the file's), INCOMPATIBLE for another
 * layout version.
 */
export function readHeader(i32: Int32Array, fileSize: number, what: string): HeaderInfo {
  if (i32.length * 4 < FIXED_HEADER_BYTES || fileSize < FIXED_HEADER_BYTES) {
    throw corrupt(what, `${fileSize} bytes is too small for a segment header`);
  }
  // acquire: pairs with publishHeader; every field below was written before the magic.
  const magic = Atomics.load(i32, W_MAGIC);
  if (magic !== MAGIC) {
    throw corrupt(what, `not a shmkit segment (magic 0x${(magic >>> 0).toString(16)})`);
  }
  const version = Atomics.load(i32, W_VERSION);
  if (version !== LAYOUT_VERSION) {
    throw new ShmkitError(
      'INCOMPATIBLE',
      `${what} has segment layout version ${version}; this shmkit reads version ${LAYOUT_VERSION}`,
    );
  }
  const size = u64(i32, W_SIZE_LO);
  if (size > MAX_SEGMENT_BYTES)
    throw corrupt(what, `the header says ${size} bytes, more than a segment can have`);
  if (size !== fileSize) throw corrupt(what, `the header says ${size} bytes, the file has ${fileSize}`);
  const threads = Atomics.load(i32, W_TABLE_SLOTS);
  const capacity = Atomics.load(i32, W_DIR_CAPACITY);
  if (!(threads >= 1 && threads <= ProcessIdentity.MAX_THREADS)) {
    throw corrupt(what, `thread table of ${threads} slots`);
  }
  if (!(capacity >= 1 && capacity <= MAX_OBJECTS)) throw corrupt(what, `directory of ${capacity} entries`);
  const layout = layoutFor(threads, capacity);
  if (
    Atomics.load(i32, W_TABLE_OFFSET) !== layout.tableOffset ||
    Atomics.load(i32, W_DIR_OFFSET) !== layout.directoryOffset ||
    Atomics.load(i32, W_DATA_OFFSET) !== layout.dataOffset
  ) {
    throw corrupt(what, 'the offsets of the thread table, directory and data disagree');
  }
  if (layout.dataOffset > size) throw corrupt(what, `data offset ${layout.dataOffset} past the end`);
  const lo = Atomics.load(i32, W_ID_LO) >>> 0;
  const hi = Atomics.load(i32, W_ID_HI) >>> 0;
  return {
    ...layout,
    size,
    version,
    creatorPid: Atomics.load(i32, W_CREATOR_PID),
    creatorStartTime: u64(i32, W_CREATOR_START_LO),
    created: u64(i32, W_CREATED_LO),
    id: hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0'),
  };
}

/**
 * The creator fields of a header whose magic may not be there yet (creation in progress): its
 * pid, its start time and the creation time (ms since the epoch; any value, validate before use).
 */
export function readCreator(i32: Int32Array): { pid: number; startTime: number; created: number } {
  const pid = Atomics.load(i32, W_CREATOR_PID);
  return { pid, startTime: u64(i32, W_CREATOR_START_LO), created: u64(i32, W_CREATED_LO) };
}

/** An unsigned 64-bit field as a number; values past 2^53 come out inexact (and then fail checks). */
function u64(i32: Int32Array, lo: number): number {
  return (Atomics.load(i32, lo) >>> 0) + (Atomics.load(i32, lo + 1) >>> 0) * TWO_32;
}

export function corrupt(what: string, detail: string): ShmkitError {
  return new ShmkitError('CORRUPT', `${what} is corrupt: ${detail}`);
}
