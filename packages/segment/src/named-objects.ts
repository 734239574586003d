/**
 * The named-object half of the Segment API: one typed get-or-create method per kind (`mutex`,
 * `channel`, `bytes`, ...), each of them one call, `object(key, KIND, options)`, that hands a row
 * of kinds.ts to the directory (directory.ts). Segment (segment.ts) extends this class with its
 * lifecycle: creating, opening, handles, close.
 *
 * Attaching to an object checks its type tag (word 0, core's shared-object.ts) before wrapping
 * it: a directory entry is untrusted, so memory that holds no object of the entry's kind is
 * CORRUPT, never a primitive running over foreign words.
 */
import { type Channel, Channel as ChannelClass } from '@shmkit/channel';
import { invalidArgument, Region, tagName } from '@shmkit/core';
import type { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import type { Directory } from './directory.js';
import { corrupt } from './header.js';
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
import { encodeKey } from './names.js';
import type { SegmentChannelOptions, SegmentObjectInfo } from './options.js';

/** The typed get-or-create methods of {@link Segment}, over one mapped segment's directory. */
export abstract class NamedObjects {
  /** The segment's name (its file is `shmkit.<name>` in its `dir`). */
  readonly name: string;
  /** The whole mapped segment. */
  protected readonly buffer: SharedArrayBuffer;
  /** Its directory of named objects, as this object has read it. */
  protected readonly directory: Directory;
  /**
   * Offset -> bytes of each channel handed out by this object: close() unregisters this thread
   * as their producer. Offsets, not Channel objects: a WeakRef would keep every channel (and so
   * every mapping) alive until the current job ends, which in a synchronous loop is never.
   */
  private readonly channels = new Map<number, number>();

  protected constructor(name: string, buffer: SharedArrayBuffer, directory: Directory) {
    this.name = name;
    this.buffer = buffer;
    this.directory = directory;
  }

  /** CLOSED or CORRUPT when this object may no longer be used (see Segment). */
  protected abstract checkOpen(): void;

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
    const entry = this.directory.find(key);
    if (entry !== undefined) this.channels.set(entry.offset, entry.byteLength);
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

  /**
   * Forgets every channel handed out here, first unregistering the thread of `token` as their
   * producer (token 0: none to unregister). close() does this once.
   */
  protected forgetChannels(token: number): void {
    if (token !== 0) {
      for (const [offset, bytes] of this.channels) {
        try {
          ChannelClass.unregisterProducerToken(new Region(this.buffer, offset, bytes, 'futex'), token);
        } catch {
          // The memory is damaged (CORRUPT): nothing to unregister from.
        }
      }
    }
    this.channels.clear();
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
        // The entry was read after the directory count (seq_cst), which its creator stored after
        // the object's constructor published this tag: a wrong tag is damage, not a race.
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
}
