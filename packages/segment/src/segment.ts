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
import { setTimeout as delay } from 'node:timers/promises';
import { type Channel, Channel as ChannelClass } from '@shmkit/channel';
import {
  abortedError,
  invalidArgument,
  Region,
  ShmkitError,
  tagName,
  throwIfAborted,
  validateAsyncOptions,
  validateInteger,
  validateTimeout,
} from '@shmkit/core';
import { type Barrier, type Condition, type Latch, Mutex, type RwLock, type Semaphore } from '@shmkit/sync';
import { createSegment, DEFAULT_OBJECTS, DEFAULT_THREADS, validateFlag } from './create.js';
import { Directory } from './directory.js';
import {
  corrupt,
  FIXED_HEADER_BYTES,
  type HeaderInfo,
  LOCK_OFFSET,
  layoutFor,
  MAX_OBJECTS,
  readHeader,
} from './header.js';
import { dateOf, listSegments, type SegmentInfo } from './inventory.js';
import {
  BARRIER,
  BYTES,
  CHANNEL,
  CONDITION,
  kindById,
  kindName,
  LATCH,
  MUTEX,
  type ObjectKindDef,
  RWLOCK,
  SEMAPHORE,
  type SegmentStructType,
  STRUCT,
} from './kinds.js';
import { flushMappedFile, mappingState, releaseMapping, unlinkMappedFile } from './mapping.js';
import { encodeKey, resolveDir, segmentPath, validateName } from './names.js';
import { openInitialized, openSteps } from './open.js';
import type {
  CreateSegmentOptions,
  OpenSegmentOptions,
  SegmentChannelOptions,
  SegmentHandle,
  SegmentObjectInfo,
} from './options.js';
import { ProcessIdentity } from './process-identity.js';
import { releaseThreadSlot, retainThreadSlot, segmentIdentity } from './segment-identity.js';

export type { SegmentInfo } from './inventory.js';

export type {
  CreateSegmentOptions,
  OpenSegmentOptions,
  SegmentChannelOptions,
  SegmentHandle,
  SegmentObjectInfo,
} from './options.js';

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
export class Segment {
  /** The segment's name (its file is `shmkit.<name>` in {@link dir}). */
  readonly name: string;
  /** Directory of the file. */
  readonly dir: string;
  /** Bytes of the whole segment, header included. */
  readonly size: number;
  private readonly buffer: SharedArrayBuffer;
  private readonly info: HeaderInfo;
  private readonly identity: ProcessIdentity;
  private readonly directory: Directory;
  /**
   * Offset -> bytes of each channel handed out by this object: close() unregisters this thread
   * as their producer. Offsets, not Channel objects: a WeakRef would keep every channel (and so
   * every mapping) alive until the current job ends, which in a synchronous loop is never.
   */
  private readonly channels = new Map<number, number>();
  private isClosed = false;

  private constructor(name: string, dir: string, buffer: SharedArrayBuffer, info: HeaderInfo) {
    this.name = name;
    this.dir = dir;
    this.size = info.size;
    this.buffer = buffer;
    this.info = info;
    const what = `segment ${JSON.stringify(name)}`;
    const identity = segmentIdentity(buffer);
    if (identity === undefined) throw corrupt(what, 'no segment header in this memory');
    this.identity = identity;
    const lockRegion = new Region(buffer, LOCK_OFFSET, Mutex.SIZE, 'futex');
    if (tagName(Atomics.load(lockRegion.int32(), 0)) !== 'Mutex') {
      throw corrupt(what, 'its directory lock is not a Mutex');
    }
    this.directory = new Directory(buffer, info, Mutex.attach(lockRegion), what);
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
    return new Segment(name, dir, found.buffer, found.info);
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
    const threads = validateInteger(
      o?.maxThreads ?? DEFAULT_THREADS,
      'maxThreads',
      1,
      ProcessIdentity.MAX_THREADS,
    );
    const objects = validateInteger(o?.maxObjects ?? DEFAULT_OBJECTS, 'maxObjects', 1, MAX_OBJECTS);
    return layoutFor(threads, objects).dataOffset;
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
    validateName(name);
    if (o !== undefined && (typeof o !== 'object' || o === null))
      invalidArgument('options must be an object');
    const timeout = o?.timeout === undefined ? 0 : validateTimeout(o.timeout);
    const dir = resolveDir(o?.dir);
    const allowForeignOwner = validateFlag(o?.allowForeignOwner, 'allowForeignOwner');
    const found = openInitialized(segmentPath(dir, name), name, timeout, allowForeignOwner);
    return new Segment(name, dir, found.buffer, found.info);
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
    validateName(name);
    if (o !== undefined && (typeof o !== 'object' || o === null))
      invalidArgument('options must be an object');
    const timeout = o?.timeout === undefined ? 0 : validateTimeout(o.timeout);
    const { signal } = validateAsyncOptions({ signal: o?.signal });
    const dir = resolveDir(o?.dir);
    const allowForeignOwner = validateFlag(o?.allowForeignOwner, 'allowForeignOwner');
    throwIfAborted(signal);
    const steps = openSteps(segmentPath(dir, name), name, timeout, allowForeignOwner);
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done) return new Segment(name, dir, r.value.buffer, r.value.info);
      try {
        await delay(r.value, undefined, { signal });
      } catch (e) {
        if (signal?.aborted) throw abortedError(signal);
        throw e;
      }
    }
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
    if (typeof handle !== 'object' || handle === null) invalidArgument('Segment.from needs a handle object');
    const h = handle as Partial<SegmentHandle>;
    if (h.type !== 'Segment') {
      throw new ShmkitError('INCOMPATIBLE', `this handle is for a ${String(h.type)}, not a Segment`);
    }
    const name = validateName(h.name);
    const dir = resolveDir(h.dir);
    if (!(h.buffer instanceof SharedArrayBuffer))
      invalidArgument('handle.buffer must be a SharedArrayBuffer');
    if (h.size !== h.buffer.byteLength) invalidArgument('handle.size does not match its buffer');
    const what = `segment ${JSON.stringify(name)}`;
    if (h.buffer.byteLength < FIXED_HEADER_BYTES) throw corrupt(what, 'too small for a segment header');
    const info = readHeader(new Int32Array(h.buffer, 0, FIXED_HEADER_BYTES / 4), h.buffer.byteLength, what);
    return new Segment(name, dir, h.buffer, info);
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

  /** Bytes not yet taken by named objects (a snapshot: other processes may take more). */
  get free(): number {
    this.checkOpen();
    return this.directory.free();
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

  /** The named objects in the segment (a snapshot), in creation order. */
  objects(): SegmentObjectInfo[] {
    this.checkOpen();
    return this.directory.list().map((e) => ({
      key: e.key,
      kind: kindName(e.kind),
      offset: e.offset,
      byteLength: e.byteLength,
      params: kindById(e.kind)?.describe(e) ?? '',
    }));
  }

  /**
   * The Mutex named `key`: created if missing, else attached. Owners are tracked across
   * processes: when a holder dies, the next `lock()` gets OWNER_DEAD (and the lock).
   *
   * @example
   * ```ts
   * const m = seg.mutex('accounts');
   * m.withLock(() => { balance[0] -= 10; });
   * ```
   */
  mutex(key: string): Mutex {
    return this.object(key, MUTEX, undefined);
  }

  /** The Condition named `key` (use it with a Mutex of the same segment). */
  condition(key: string): Condition {
    return this.object(key, CONDITION, undefined);
  }

  /**
   * The Semaphore named `key`, created with `initial` permits (default 0) and `o.max` (default
   * 2^31-1). Every caller must pass the same `initial` and `max`.
   */
  semaphore(key: string, initial = 0, o?: { max?: number }): Semaphore {
    return this.object(key, SEMAPHORE, { initial, max: o?.max ?? 0x7fffffff });
  }

  /** The RwLock named `key`. */
  rwlock(key: string): RwLock {
    return this.object(key, RWLOCK, undefined);
  }

  /** The Barrier named `key` for `parties` threads (1..65535; the same in every caller). */
  barrier(key: string, parties: number): Barrier {
    return this.object(key, BARRIER, parties);
  }

  /** The Latch named `key`, created counting down from `count` (the same in every caller). */
  latch(key: string, count: number): Latch {
    return this.object(key, LATCH, count);
  }

  /**
   * The Channel named `key`. Capacity (default 1 MiB), producers, consumers and codec must be the
   * same in every caller; a custom codec is compared by its name. Closing the segment
   * unregisters this thread as a producer of the channels it got here.
   *
   * @example
   * ```ts
   * const q = seg.channel<object>('jobs', { capacity: 1 << 16, codec: 'msgpack', producers: 'many' });
   * q.send({ id: 1 });                 // in a consumer process: q.recv()
   * ```
   */
  channel<T = Uint8Array>(key: string, o?: SegmentChannelOptions<T>): Channel<T> {
    if (o !== undefined && (typeof o !== 'object' || o === null))
      invalidArgument('options must be an object');
    const ch = this.object(key, CHANNEL, {
      capacity: o?.capacity ?? 1 << 20,
      producers: o?.producers ?? 'one',
      consumers: o?.consumers ?? 'one',
      codec: o?.codec ?? 'bytes',
      maxMessageSize: o?.maxMessageSize,
    });
    this.track(key);
    return ch as Channel<T>;
  }

  /**
   * The raw byte region named `key`, of `byteLength` bytes (zeroed when created; the same length
   * in every caller). Plain reads and writes are not synchronized: guard them with a mutex of
   * the segment, or use Atomics on an Int32Array over the same memory.
   *
   * @example
   * ```ts
   * const b = seg.bytes('counters', 64);
   * const counters = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
   * Atomics.add(counters, 0, 1);               // seen by every process at once
   * ```
   */
  bytes(key: string, byteLength: number): Uint8Array {
    return this.object(key, BYTES, byteLength);
  }

  /**
   * The struct named `key`, as a live view (get-or-create; zeroed when created). `type` comes from
   * `struct()` of @shmkit/struct; another layout under the same key is INCOMPATIBLE.
   *
   * @example
   * ```ts fragment
   * const Stats = struct({ requests: 'u32', lastLatency: 'f64' });
   * const s = seg.struct('stats', Stats);
   * Stats.atomic.add(s, 'requests', 1);        // seen by every process at once
   * ```
   */
  struct<V>(key: string, type: SegmentStructType<V, unknown>): V {
    return this.object(key, STRUCT, { type, length: 1, array: false }) as V;
  }

  /**
   * `length` structs named `key` (get-or-create), as the type's array; same rules as {@link struct}.
   *
   * @example
   * ```ts fragment
   * const slots = seg.structArray('slots', Order, 1024);
   * slots.at(3).qty = 5;
   * ```
   */
  structArray<A>(key: string, type: SegmentStructType<unknown, A>, length: number): A {
    return this.object(key, STRUCT, { type, length, array: true }) as A;
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
    if (token !== 0 && this.intact) {
      for (const [offset, bytes] of this.channels) {
        try {
          ChannelClass.unregisterToken(new Region(this.buffer, offset, bytes, 'futex'), token);
        } catch {
          // The memory is damaged (CORRUPT): nothing to unregister from.
        }
      }
    }
    this.channels.clear();
    releaseThreadSlot(this.info.id, this.identity);
  }

  /**
   * Removes the segment's name (see {@link Segment.unlink}); this object and every other process
   * that has it open go on working. Allowed after close().
   */
  unlink(): void {
    Segment.unlink(this.name, { dir: this.dir });
  }

  /**
   * The named object `key` of `kind` (a row of kinds.ts), created from `options` or attached:
   * every named-object method is this call.
   */
  private object<O, T>(key: string, kind: ObjectKindDef<O, T>, options: O): T {
    const keyBytes = encodeKey(key);
    this.checkOpen();
    const params = kind.params(options);
    const region = (offset: number): Region => new Region(this.buffer, offset, params.byteLength, 'futex');
    return this.directory.getOrCreate(
      key,
      keyBytes,
      kind as ObjectKindDef<never, unknown>,
      params,
      (offset) => kind.create(region(offset), options),
      (offset) => {
        const r = region(offset);
        if (kind.tag !== undefined && tagName(Atomics.load(r.int32(), 0)) !== kind.tag) {
          throw corrupt(
            `segment ${JSON.stringify(this.name)}`,
            `no ${kind.name} at the offset its directory entry ${JSON.stringify(key)} gives`,
          );
        }
        return kind.attach(r, options);
      },
    );
  }

  private track(key: string): void {
    const entry = this.directory.find(key);
    if (entry !== undefined) this.channels.set(entry.offset, entry.byteLength);
  }

  private checkOpen(): void {
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
