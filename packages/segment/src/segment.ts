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
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Channel, type ChannelOptions, type Codec } from '@shmkit/channel';
import {
  abortedError,
  Deadline,
  invalidArgument,
  Region,
  ShmkitError,
  tagName,
  throwIfAborted,
  validateAsyncOptions,
  validateInteger,
  validateTimeout,
} from '@shmkit/core';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import {
  CH_MANY_CONSUMERS,
  CH_MANY_PRODUCERS,
  Directory,
  kindName,
  ObjectKind,
  type ObjectSpec,
  validateCapacity,
} from './directory.js';
import {
  corrupt,
  FIXED_HEADER_BYTES,
  type HeaderInfo,
  LOCK_OFFSET,
  layoutFor,
  MAGIC,
  MAX_OBJECTS,
  MAX_SEGMENT_BYTES,
  publishHeader,
  readCreator,
  readHeader,
  W_COUNT,
  W_CREATED_LO,
  W_MAGIC,
  writeHeader,
} from './header.js';
import {
  createMappedFile,
  flushMappedFile,
  type MappedFile,
  openMappedFile,
  unlinkMappedFile,
} from './mapping.js';
import { encodeKey, FILE_PREFIX, nameProblem, resolveDir, segmentPath, validateName } from './names.js';
import { isProcessAlive, selfStartTime } from './proc.js';
import { ProcessIdentity } from './process-identity.js';
import {
  adoptSegmentIdentity,
  releaseThreadSlot,
  retainThreadSlot,
  segmentIdentity,
} from './segment-identity.js';
import { describeStruct, type SegmentStructType, structSpec } from './struct-objects.js';

/** Threads one segment can name by default (each takes 32 bytes of the header). */
const DEFAULT_THREADS = 128;
/** Named objects one segment can hold by default (each entry takes 96 bytes of the header). */
const DEFAULT_OBJECTS = 128;
/**
 * How long an open waits, even without a timeout, for a segment whose file exists but whose
 * creator is still reserving its memory or writing its header (a 1 GiB segment takes a while).
 */
const INIT_GRACE_MS = 2000;
const INT32_MAX = 0x7fffffff;

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
  /** When it was created (for `unreadable` ones: the file's change time). */
  readonly created: Date;
  /** Named objects it holds. */
  readonly objects: number;
}

/** A named object of a segment, as {@link Segment.objects} reports it. */
export interface SegmentObjectInfo {
  readonly key: string;
  readonly kind: string;
  readonly offset: number;
  readonly byteLength: number;
}

/** Options of {@link Segment.channel}: those of the Channel constructor, minus the region. */
export type SegmentChannelOptions<T> = Omit<ChannelOptions<T>, 'region'>;

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
  /** Channels handed out by this object: close() unregisters their producers. */
  private readonly channels = new Set<WeakRef<Channel<unknown>>>();
  private channelsPruneAt = 64;
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
    validateName(name);
    if (typeof o !== 'object' || o === null) invalidArgument('Segment.create needs options { size }');
    const dir = resolveDir(o.dir);
    const mode = validateInteger(o.mode ?? 0o600, 'mode', 0, 0o777);
    const exclusive = o.exclusive ?? true;
    if (typeof exclusive !== 'boolean') invalidArgument('exclusive must be a boolean');
    const allowForeignOwner = validateFlag(o.allowForeignOwner, 'allowForeignOwner');
    const threads = validateInteger(
      o.maxThreads ?? DEFAULT_THREADS,
      'maxThreads',
      1,
      ProcessIdentity.MAX_THREADS,
    );
    const objects = validateInteger(o.maxObjects ?? DEFAULT_OBJECTS, 'maxObjects', 1, MAX_OBJECTS);
    const layout = layoutFor(threads, objects);
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
      return new Segment(name, dir, found.buffer, found.info);
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
        new ProcessIdentity(
          new Int32Array(buffer, layout.tableOffset, ProcessIdentity.bytesFor(threads) / 4),
        ),
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
    return new Segment(name, dir, buffer, info);
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
    const dir = resolveDir(o?.dir);
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

  /** When the segment was created. */
  get created(): Date {
    return new Date(this.info.created);
  }

  /** The named objects in the segment (a snapshot), in creation order. */
  objects(): SegmentObjectInfo[] {
    this.checkOpen();
    return this.directory
      .list()
      .map((e) => ({ key: e.key, kind: kindName(e.kind), offset: e.offset, byteLength: e.byteLength }));
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
    return this.object(
      key,
      plain(ObjectKind.Mutex, Mutex.SIZE),
      (r) => new Mutex({ region: r }),
      (r) => Mutex.attach(r),
    );
  }

  /** The Condition named `key` (use it with a Mutex of the same segment). */
  condition(key: string): Condition {
    return this.object(
      key,
      plain(ObjectKind.Condition, Condition.SIZE),
      (r) => new Condition({ region: r }),
      (r) => Condition.attach(r),
    );
  }

  /**
   * The Semaphore named `key`, created with `initial` permits (default 0) and `o.max` (default
   * 2^31-1). Every caller must pass the same `initial` and `max`.
   */
  semaphore(key: string, initial = 0, o?: { max?: number }): Semaphore {
    const max = validateInteger(o?.max ?? INT32_MAX, 'max', 1, INT32_MAX);
    validateInteger(initial, 'initial', 0, max);
    return this.object(
      key,
      { kind: ObjectKind.Semaphore, byteLength: Semaphore.SIZE, p0: initial, p1: max, p2: 0 },
      (r) => new Semaphore(initial, { max, region: r }),
      (r) => Semaphore.attach(r),
    );
  }

  /** The RwLock named `key`. */
  rwlock(key: string): RwLock {
    return this.object(
      key,
      plain(ObjectKind.RwLock, RwLock.SIZE),
      (r) => new RwLock({ region: r }),
      (r) => RwLock.attach(r),
    );
  }

  /** The Barrier named `key` for `parties` threads (1..65535; the same in every caller). */
  barrier(key: string, parties: number): Barrier {
    validateInteger(parties, 'parties', 1, 0xffff);
    return this.object(
      key,
      { kind: ObjectKind.Barrier, byteLength: Barrier.SIZE, p0: parties, p1: 0, p2: 0 },
      (r) => new Barrier(parties, { region: r }),
      (r) => Barrier.attach(r),
    );
  }

  /** The Latch named `key`, created counting down from `count` (the same in every caller). */
  latch(key: string, count: number): Latch {
    validateInteger(count, 'count', 0, INT32_MAX);
    return this.object(
      key,
      { kind: ObjectKind.Latch, byteLength: Latch.SIZE, p0: count, p1: 0, p2: 0 },
      (r) => new Latch(count, { region: r }),
      (r) => Latch.attach(r),
    );
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
    const capacity = validateCapacity(o?.capacity ?? 1 << 20);
    const producers = o?.producers ?? 'one';
    const consumers = o?.consumers ?? 'one';
    if (producers !== 'one' && producers !== 'many') invalidArgument(`producers must be 'one' or 'many'`);
    if (consumers !== 'one' && consumers !== 'many') invalidArgument(`consumers must be 'one' or 'many'`);
    const codec = o?.codec ?? 'bytes';
    const flags =
      (producers === 'many' ? CH_MANY_PRODUCERS : 0) | (consumers === 'many' ? CH_MANY_CONSUMERS : 0);
    const spec: ObjectSpec = {
      kind: ObjectKind.Channel,
      byteLength: Channel.byteLength(capacity, { consumers, codec }),
      p0: capacity,
      p1: flags,
      p2: codecId(codec),
    };
    const ch = this.object(
      key,
      spec,
      (r) => new Channel<T>({ capacity, producers, consumers, codec, region: r }),
      (r) => Channel.attach<T>(r, { codec }),
    );
    this.track(ch as Channel<unknown>);
    return ch;
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
    validateInteger(byteLength, 'byteLength', 1, MAX_SEGMENT_BYTES);
    return this.object(
      key,
      { kind: ObjectKind.Bytes, byteLength, p0: 0, p1: 0, p2: 0 },
      (r) => r.bytes(),
      (r) => r.bytes(),
    );
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
    const spec = structSpec(type, 1, false);
    return this.object(
      key,
      spec,
      (r) => type.view(r.buffer, r.byteOffset),
      (r) => type.view(r.buffer, r.byteOffset),
    );
  }

  /** `length` structs named `key` (get-or-create), as the type's array; same rules as {@link struct}. */
  structArray<A>(key: string, type: SegmentStructType<unknown, A>, length: number): A {
    const spec = structSpec(type, length, true);
    return this.object(
      key,
      spec,
      (r) => type.array(r.buffer, r.byteOffset, length),
      (r) => type.array(r.buffer, r.byteOffset, length),
    );
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
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const ref of this.channels) {
      try {
        ref.deref()?.unregister();
      } catch {
        // A claim is outstanding on that channel: leave the producer registered, so receivers
        // judge it by this thread's liveness as if it had crashed mid-send.
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

  private object<T>(key: string, spec: ObjectSpec, create: (r: Region) => T, attach: (r: Region) => T): T {
    const keyBytes = encodeKey(key);
    this.checkOpen();
    const region = (offset: number): Region => new Region(this.buffer, offset, spec.byteLength, 'futex');
    return this.directory.getOrCreate(
      key,
      keyBytes,
      spec,
      describeParams,
      (offset) => create(region(offset)),
      (offset) => {
        const r = region(offset);
        if (
          spec.kind !== ObjectKind.Bytes &&
          spec.kind !== ObjectKind.Struct &&
          tagName(Atomics.load(r.int32(), 0)) !== kindName(spec.kind)
        ) {
          throw corrupt(
            `segment ${JSON.stringify(this.name)}`,
            `no ${kindName(spec.kind)} at the offset its directory entry ${JSON.stringify(key)} gives`,
          );
        }
        return attach(r);
      },
    );
  }

  private track(ch: Channel<unknown>): void {
    this.channels.add(new WeakRef(ch));
    if (this.channels.size >= this.channelsPruneAt) {
      for (const ref of this.channels) if (ref.deref() === undefined) this.channels.delete(ref);
      this.channelsPruneAt = Math.max(64, this.channels.size * 2);
    }
  }

  private checkOpen(): void {
    if (this.isClosed) {
      throw new ShmkitError('CLOSED', `this Segment object (${JSON.stringify(this.name)}) was closed`);
    }
  }
}

function plain(kind: ObjectKind, byteLength: number): ObjectSpec {
  return { kind, byteLength, p0: 0, p1: 0, p2: 0 };
}

function validateFlag(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') invalidArgument(`${what} must be a boolean`);
  return v;
}

const BUILTIN_CODECS: Record<string, number> = { bytes: 1, utf8: 2, msgpack: 3 };

/** The codec as stored in a channel's entry: 1..3 for the built-ins, a hash of the name (negative) else. */
function codecId(codec: unknown): number {
  let name: string;
  if (typeof codec === 'string') {
    if (BUILTIN_CODECS[codec] === undefined) {
      invalidArgument(
        `unknown codec ${JSON.stringify(codec)}: use 'bytes', 'utf8', 'msgpack' or a Codec object`,
      );
    }
    name = codec;
  } else {
    const c = codec as Partial<Codec<unknown>> | null;
    if (
      typeof c !== 'object' ||
      c === null ||
      typeof c.encode !== 'function' ||
      typeof c.decode !== 'function' ||
      typeof c.name !== 'string'
    ) {
      invalidArgument('codec must be a codec name or an object with name, encode and decode');
    }
    name = c.name;
  }
  const builtin = BUILTIN_CODECS[name];
  if (builtin !== undefined) return builtin;
  let h = 0x811c9dc5; // FNV-1a
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193);
  return h | 0x80000000;
}

function describeParams(s: ObjectSpec): string {
  switch (s.kind) {
    case ObjectKind.Semaphore:
      return `initial ${s.p0}, max ${s.p1}`;
    case ObjectKind.Barrier:
      return `${s.p0} parties`;
    case ObjectKind.Latch:
      return `count ${s.p0}`;
    case ObjectKind.Channel: {
      const codec = Object.keys(BUILTIN_CODECS).find((k) => BUILTIN_CODECS[k] === s.p2) ?? 'a custom codec';
      return (
        `capacity ${s.p0}, producers '${s.p1 & CH_MANY_PRODUCERS ? 'many' : 'one'}', ` +
        `consumers '${s.p1 & CH_MANY_CONSUMERS ? 'many' : 'one'}', codec ${codec}`
      );
    }
    case ObjectKind.Bytes:
      return `${s.byteLength} bytes`;
    case ObjectKind.Struct:
      return describeStruct(s);
    default:
      return 'no parameters';
  }
}

interface Found {
  readonly buffer: SharedArrayBuffer;
  readonly info: HeaderInfo;
}

/** Opens the file of segment `name` once its header is complete, sleeping with `sleep` between tries. */
function openInitialized(file: string, name: string, timeout: number, allowForeignOwner: boolean): Found {
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
function* openSteps(
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
      // A fresh mapping each try: one made while the creator was still sizing the file is stale.
      m = openMappedFile(file);
    } catch (e) {
      if (!ShmkitError.is(e, 'NOT_FOUND')) throw e;
    }
    if (m !== undefined) {
      checkOwner(m, what, allowForeignOwner);
      const buffer = m.buffer;
      if (buffer !== null) {
        if (buffer.byteLength < FIXED_HEADER_BYTES) {
          throw corrupt(what, `${buffer.byteLength} bytes is too small for a segment header`);
        }
        const header = new Int32Array(buffer, 0, FIXED_HEADER_BYTES / 4);
        // acquire: pairs with publishHeader (readHeader loads it again and checks it).
        if (Atomics.load(header, W_MAGIC) !== 0) {
          return { buffer, info: readHeader(header, buffer.byteLength, what) };
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
    const created = (i32[W_CREATED_LO]! >>> 0) + (i32[W_CREATED_LO + 1]! >>> 0) * 2 ** 32;
    return {
      name,
      path: file,
      size: st.size,
      uid: st.uid,
      mode: st.mode & 0o7777,
      status,
      creatorPid: creator.pid,
      creatorAlive: creator.pid > 0 && isProcessAlive(creator.pid, creator.startTime),
      created: new Date(created),
      objects: Math.max(0, i32[W_COUNT]!),
    };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function unreadable(file: string, name: string): SegmentInfo | undefined {
  try {
    const st = lstatSync(file);
    if (!st.isFile()) return undefined;
    return {
      name,
      path: file,
      size: st.size,
      uid: st.uid,
      mode: st.mode & 0o7777,
      status: 'unreadable',
      creatorPid: 0,
      creatorAlive: false,
      created: new Date(st.ctimeMs),
      objects: 0,
    };
  } catch {
    return undefined;
  }
}
