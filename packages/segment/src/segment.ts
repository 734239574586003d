/**
 * Segment: a named block of shared memory that any process of this user can open, holding named
 * mutexes, conditions, semaphores, rw-locks, barriers, latches, channels and raw byte regions.
 *
 * A segment is one file (`shmkit.<name>` in /dev/shm, or in `dir`) mapped MAP_SHARED into every
 * process that opens it. Its first bytes are the header (header.ts): magic, version, size, creator,
 * the thread table that names lock owners across processes (process-identity.ts), the directory of
 * named objects and its lock (directory.ts). Objects follow, each on its own 128-byte line.
 *
 * Every object in a segment waits with the futex waiter and names its owners with the segment's
 * thread table: importing @shmkit/segment registers the `futex` memory kind that finds both from
 * the buffer (segment-identity.ts), in every thread that imports it.
 */
import { invalidArgument, Region, ShmkitError, tagName } from '@shmkit/core';
import { Mutex } from '@shmkit/sync';
import { createSegment, headerLayout } from './create.js';
import { Directory } from './directory.js';
import { corrupt, type HeaderInfo, LOCK_OFFSET } from './header.js';
import { dateOf, listSegments, type SegmentInfo } from './inventory.js';
import { flushMappedFile, mappingState, releaseMapping, unlinkMappedFile } from './mapping.js';
import { NamedObjects } from './named-objects.js';
import { resolveDir, segmentPath, validateName } from './names.js';
import { type Found, fromHandle, openRequest, openSegment, openSegmentAsync } from './open.js';
import {
  type CreateSegmentOptions,
  type OpenSegmentOptions,
  type SegmentHandle,
  validateFlag,
} from './options.js';
import type { ProcessIdentity } from './process-identity.js';
import { releaseThreadSlot, retainThreadSlot, segmentIdentity } from './segment-identity.js';

/**
 * A named segment of shared memory between processes (Linux): create it in one process, open it
 * by name in others, and get the same mutexes, channels and byte regions everywhere by key.
 *
 * Named objects are get-or-create: the first caller, in any process, creates and initializes
 * the object; later callers attach to it. Every caller must pass the same kind and parameters:
 * asking for a Semaphore where a Mutex lives, or for another channel capacity, is INCOMPATIBLE.
 * Objects are the classes of @shmkit/sync and @shmkit/channel; their handles can be posted to
 * workers of the same process, which attach with `X.from(handle)` after importing @shmkit/segment.
 *
 * Blocking: `open` with a timeout blocks the calling thread while it waits for the creator (use
 * `openAsync` on a main thread); creating a named object holds the segment's directory lock for
 * microseconds (attaching to an existing one takes no lock). Each named-object call allocates a
 * small wrapper: keep the objects rather than asking for them in a hot loop.
 *
 * @example
 * ```ts
 * // process A
 * const seg = Segment.create('jobs', { size: 1 << 20 });
 * seg.channel<string>('q', { codec: 'utf8' }).send('hello');
 * // process B
 * const seg = Segment.open('jobs', { timeout: 5000 });
 * seg.channel<string>('q', { codec: 'utf8' }).recv();      // 'hello'
 * ```
 */
export class Segment extends NamedObjects {
  /** Directory of the file. */
  readonly dir: string;
  /** Bytes of the whole segment, header included. */
  readonly size: number;
  private readonly info: HeaderInfo;
  private readonly identity: ProcessIdentity;
  private isClosed = false;

  private constructor(name: string, dir: string, { buffer, info }: Found) {
    const what = `segment ${JSON.stringify(name)}`;
    const identity = segmentIdentity(buffer);
    if (identity === undefined) throw corrupt(what, 'no segment header in this memory');
    const lockRegion = new Region(buffer, LOCK_OFFSET, Mutex.SIZE, 'futex');
    // acquire: the lock's tag, published by the creator before the header's magic.
    if (tagName(Atomics.load(lockRegion.int32(), 0)) !== 'Mutex') {
      throw corrupt(what, 'its directory lock is not a Mutex');
    }
    super(name, buffer, new Directory(buffer, info, Mutex.attach(lockRegion), what));
    this.dir = dir;
    this.size = info.size;
    this.info = info;
    this.identity = identity;
    retainThreadSlot(info.id);
  }

  /**
   * Creates segment `name` of `size` bytes: EXISTS when it exists (unless `exclusive: false`).
   * Errors: INVALID_ARGUMENT (name, size, options), EXISTS, TOO_LARGE (no room in /dev/shm),
   * PERMISSION, NOT_FOUND (no such `dir`).
   *
   * @example
   * ```ts
   * const seg = Segment.create('myapp', { size: 16 << 20 });      // /dev/shm/shmkit.myapp, mode 0600
   * process.on('exit', () => seg.unlink());
   * ```
   */
  static create(name: string, o: CreateSegmentOptions): Segment {
    const { dir, found } = createSegment(name, o);
    return new Segment(name, dir, found);
  }

  /**
   * Bytes the header of a segment made with these options takes (`size` must be at least this;
   * what is left holds the objects, each rounded up to 128 bytes).
   *
   * @example
   * ```ts
   * const size = Segment.headerBytes() + Channel.byteLength(1 << 16) + 1024;
   * ```
   */
  static headerBytes(o?: { maxThreads?: number; maxObjects?: number }): number {
    return headerLayout(o).layout.dataOffset;
  }

  /**
   * Opens segment `name`. Without `timeout` it fails at once with NOT_FOUND when the segment does
   * not exist; with one it waits (polling, backing off to 50 ms) up to that long for a creator.
   * Errors: NOT_FOUND, CORRUPT (not a valid segment), INCOMPATIBLE (another layout version),
   * PERMISSION (owned by another user, or no access), INVALID_ARGUMENT.
   *
   * @example
   * ```ts
   * const seg = Segment.open('myapp', { timeout: 10_000 });   // waits for the creator
   * const m = seg.mutex('lock');
   * ```
   */
  static open(name: string, o?: OpenSegmentOptions): Segment {
    const r = openRequest(name, o);
    return new Segment(name, r.dir, openSegment(r));
  }

  /**
   * The async form of {@link open}: waits for the creator without blocking the event loop.
   * Rejects with ABORTED when `signal` fires.
   *
   * @example
   * ```ts
   * const seg = await Segment.openAsync('myapp', { timeout: 10_000, signal: AbortSignal.timeout(5000) });
   * ```
   */
  static async openAsync(name: string, o?: OpenSegmentOptions & { signal?: AbortSignal }): Promise<Segment> {
    const r = openRequest(name, o);
    return new Segment(name, r.dir, await openSegmentAsync(r, o?.signal));
  }

  /**
   * Attaches, in this thread, to the segment behind `handle` (from `seg.handle` in another thread
   * of this process). The memory is the same mapping: nothing is opened.
   *
   * @example
   * ```ts
   * new Worker('./w.js', { workerData: seg.handle });   // in w.js: const seg = Segment.from(workerData)
   * ```
   */
  static from(handle: SegmentHandle): Segment {
    const { name, dir, found } = fromHandle(handle);
    return new Segment(name, dir, found);
  }

  /**
   * Removes the name of segment `name` (as shm_unlink does): it can no longer be opened, while
   * every process that has it open keeps using it; the memory is freed when the last one closes
   * (unmaps) it. Returns false when there was no such segment.
   */
  static unlink(name: string, o?: { dir?: string }): boolean {
    validateName(name);
    return unlinkMappedFile(segmentPath(resolveDir(o?.dir), name));
  }

  /**
   * The shmkit segments in /dev/shm (or `dir`), by name. Files without shmkit's prefix are never
   * looked at; files with it but without a segment header are skipped.
   *
   * @example
   * ```ts
   * for (const s of Segment.list()) if (!s.creatorAlive) console.log('stale?', s.name, s.size);
   * ```
   */
  static list(o?: { dir?: string }): SegmentInfo[] {
    return listSegments(resolveDir(o?.dir));
  }

  /** A structured-clonable reference to this segment: post it to a worker, then {@link Segment.from}. */
  get handle(): SegmentHandle {
    this.checkOpen();
    return { type: 'Segment', name: this.name, dir: this.dir, buffer: this.buffer, size: this.size };
  }

  /** The file behind the segment. */
  get path(): string {
    return segmentPath(this.dir, this.name);
  }

  /** Whether {@link close} was called on this object. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Bytes of the data area not yet allocated to named objects (a snapshot: other processes may
   * take more). A new object takes its size rounded up to 128 bytes; the directory's slots
   * (`maxObjects`) are a separate limit.
   *
   * @example
   * ```ts
   * const seg = Segment.create('scratch', { size: Segment.headerBytes() + 4096 });
   * seg.bytes('a', 100);
   * console.log(seg.freeBytes);       // 3968: 'a' took 128 bytes
   * seg.unlink();
   * ```
   */
  get freeBytes(): number {
    this.checkOpen();
    return this.directory.freeBytes();
  }

  /** @deprecated use {@link freeBytes} (the same number: bytes not yet allocated to objects). */
  get free(): number {
    return this.freeBytes;
  }

  /** Pid of the process that created the segment. */
  get creatorPid(): number {
    return this.info.creatorPid;
  }

  /** When the segment was created; undefined when its header holds no valid time (written by any process). */
  get created(): Date | undefined {
    return dateOf(this.info.created);
  }

  /**
   * Whether the memory is still this segment's: `false` once another process truncated the file
   * under this process's mapping (the lost pages now read zeros here only, and every method
   * throws CORRUPT), or after close({ unmap: true }). Can be late: a truncation is noticed when
   * this process first touches a lost page.
   *
   * @example
   * ```ts fragment
   * if (!seg.intact) { seg.close(); seg = Segment.open(name, { timeout: 5000 }); }   // start over
   * ```
   */
  get intact(): boolean {
    const s = mappingState(this.buffer);
    return s === 'intact' || s === 'unknown';
  }

  /** Writes the segment back to its file and waits (msync): durability for a segment in a disk `dir`. */
  flush(): void {
    this.checkOpen();
    flushMappedFile(this.buffer);
  }

  /**
   * Closes this Segment object in this thread: later calls on it throw CLOSED. This thread stops
   * counting as a producer of the channels it got here, and when no other Segment object of this
   * thread uses the segment, its slot of the thread table is given back: do not close while this
   * thread holds a lock of the segment (other processes would then see it as dead). The memory
   * stays mapped until every object using it is garbage-collected; the segment itself stays until
   * it is unlinked. Idempotent.
   *
   * `{ unmap: true }` also drops this process's mapping now, instead of when V8 collects the
   * last buffer over it: the file's pages are replaced by private zero pages, so an unlinked
   * segment's memory goes back to the system at once. Only when no thread of this process still
   * uses the segment or anything got from it: those objects then read zeros, and their waits
   * fail with CLOSED.
   *
   * @example
   * ```ts
   * const seg = Segment.create('scratch', { size: 64 << 20 });
   * seg.unlink();
   * seg.close({ unmap: true });      // the 64 MiB are free now, not at the next major GC
   * ```
   */
  close(o?: { unmap?: boolean }): void {
    if (o !== undefined && (typeof o !== 'object' || o === null))
      invalidArgument('options must be an object');
    if (validateFlag(o?.unmap, 'unmap') && mappingState(this.buffer) !== 'released') {
      this.closeObjects();
      releaseMapping(this.buffer);
      return;
    }
    this.closeObjects();
  }

  /** `using seg = Segment.open(...)`: close() at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  private closeObjects(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // Only a thread that holds a token can have registered (sending claims one).
    const token = this.identity.current();
    this.forgetChannels(this.intact ? token : 0);
    releaseThreadSlot(this.info.id, this.identity);
  }

  /**
   * Removes the segment's name (see {@link Segment.unlink}); this object and every other process
   * that has it open go on working. Allowed after close().
   */
  unlink(): void {
    Segment.unlink(this.name, { dir: this.dir });
  }

  protected checkOpen(): void {
    if (this.isClosed) {
      throw new ShmkitError('CLOSED', `this Segment object (${JSON.stringify(this.name)}) was closed`);
    }
    const state = mappingState(this.buffer);
    if (state === 'broken') {
      throw corrupt(
        `segment ${JSON.stringify(this.name)}`,
        'another process truncated its file while this process had it mapped (the lost pages read zeros here)',
      );
    }
    if (state === 'released') {
      throw new ShmkitError('CLOSED', `segment ${JSON.stringify(this.name)} was unmapped in this process`);
    }
  }
}
