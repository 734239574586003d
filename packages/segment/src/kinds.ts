/**
 * The kinds of named objects a segment holds: one row per kind, and nothing about kinds anywhere
 * else. The directory (directory.ts) stores a kind's `id` and its params (p0..p2, byteLength) in
 * each entry and validates entries it reads with `size`; Segment's named-object methods hand the
 * caller's options to `params`, then `create` or `attach`.
 *
 * Adding a kind is one row in KINDS (an id never used before: ids are stored in segments) and the
 * public method that calls `seg.object(key, KIND, options)`. Its params must be a pure function of
 * the options, so that every process asking for the same object computes the same entry, and
 * `size` must reject every params an entry could hold that `params` never produces (entries are
 * untrusted: a bad one is CORRUPT, never an out-of-bounds view).
 */
import { CHANNEL_LIMITS, Channel, type ChannelOptions, type Codec } from '@shmkit/channel';
import { invalidArgument, type Region, validateInteger } from '@shmkit/core';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import { MAX_SEGMENT_BYTES } from './header.js';

/** What an entry stores about its object besides the key. */
export interface ObjectParams {
  readonly byteLength: number;
  readonly p0: number;
  readonly p1: number;
  readonly p2: number;
}

/** One kind of named object: `O` the options of its Segment method, `T` the object. */
export interface ObjectKindDef<O, T> {
  /** Stored in directory entries: never change or reuse one. */
  readonly id: number;
  /** For messages and `seg.objects()`. */
  readonly name: string;
  /** The type tag (word 0, see core's shared-object.ts) checked on attach; undefined: no tag. */
  readonly tag: string | undefined;
  /** Validates the caller's options (INVALID_ARGUMENT) and gives the entry's params. */
  params(o: O): ObjectParams;
  /** The bytes an object with these stored params takes; undefined when they are invalid. */
  size(p: ObjectParams): number | undefined;
  /** The params in words, for INCOMPATIBLE messages. */
  describe(p: ObjectParams): string;
  /** Initializes the object in its zeroed region (publishing its tag last). */
  create(region: Region, o: O): T;
  /** Wraps an existing object. */
  attach(region: Region, o: O): T;
}

const INT32_MAX = 0x7fffffff;
/** Channel flags in p1. */
const CH_MANY_PRODUCERS = 1;
const CH_MANY_CONSUMERS = 2;
const BUILTIN_CODECS: Record<string, number> = { bytes: 1, utf8: 2, msgpack: 3 };

const noParams = (byteLength: number): ObjectParams => ({ byteLength, p0: 0, p1: 0, p2: 0 });

/** A kind whose objects have no parameters and a fixed size (the primitives of @shmkit/sync). */
function fixed<T>(
  id: number,
  name: string,
  SIZE: number,
  create: (r: Region) => T,
  attach: (r: Region) => T,
): ObjectKindDef<void, T> {
  return {
    id,
    name,
    tag: name,
    params: () => noParams(SIZE),
    size: () => SIZE,
    describe: () => 'no parameters',
    create: (r) => create(r),
    attach: (r) => attach(r),
  };
}

export const MUTEX = fixed(
  1,
  'Mutex',
  Mutex.SIZE,
  (r) => new Mutex({ region: r }),
  (r) => Mutex.attach(r),
);

export const CONDITION = fixed(
  2,
  'Condition',
  Condition.SIZE,
  (r) => new Condition({ region: r }),
  (r) => Condition.attach(r),
);

export const SEMAPHORE: ObjectKindDef<{ initial: number; max: number }, Semaphore> = {
  id: 3,
  name: 'Semaphore',
  tag: 'Semaphore',
  params(o) {
    const max = validateInteger(o.max, 'max', 1, INT32_MAX);
    validateInteger(o.initial, 'initial', 0, max);
    return { byteLength: Semaphore.SIZE, p0: o.initial, p1: max, p2: 0 };
  },
  size: () => Semaphore.SIZE,
  describe: (p) => `initial ${p.p0}, max ${p.p1}`,
  create: (r, o) => new Semaphore(o.initial, { max: o.max, region: r }),
  attach: (r) => Semaphore.attach(r),
};

export const RWLOCK = fixed(
  4,
  'RwLock',
  RwLock.SIZE,
  (r) => new RwLock({ region: r }),
  (r) => RwLock.attach(r),
);

export const BARRIER: ObjectKindDef<number, Barrier> = {
  id: 5,
  name: 'Barrier',
  tag: 'Barrier',
  params: (parties) => ({
    byteLength: Barrier.SIZE,
    p0: validateInteger(parties, 'parties', 1, 0xffff),
    p1: 0,
    p2: 0,
  }),
  size: () => Barrier.SIZE,
  describe: (p) => `${p.p0} parties`,
  create: (r, parties) => new Barrier(parties, { region: r }),
  attach: (r) => Barrier.attach(r),
};

export const LATCH: ObjectKindDef<number, Latch> = {
  id: 6,
  name: 'Latch',
  tag: 'Latch',
  params: (count) => ({
    byteLength: Latch.SIZE,
    p0: validateInteger(count, 'count', 0, INT32_MAX),
    p1: 0,
    p2: 0,
  }),
  size: () => Latch.SIZE,
  describe: (p) => `count ${p.p0}`,
  create: (r, count) => new Latch(count, { region: r }),
  attach: (r) => Latch.attach(r),
};

/** The options of seg.channel(), defaults applied. */
export interface ChannelKindOptions<T> {
  readonly capacity: number;
  readonly producers: 'one' | 'many';
  readonly consumers: 'one' | 'many';
  readonly codec: NonNullable<ChannelOptions<T>['codec']>;
  /** Kept in the channel's own header (the creator's value wins): not a directory param. */
  readonly maxMessageSize?: number | undefined;
}

export const CHANNEL: ObjectKindDef<ChannelKindOptions<unknown>, Channel<unknown>> = {
  id: 7,
  name: 'Channel',
  tag: 'Channel',
  params(o) {
    const capacity = CHANNEL_LIMITS.validateCapacity(o.capacity);
    if (o.producers !== 'one' && o.producers !== 'many') invalidArgument(`producers must be 'one' or 'many'`);
    if (o.consumers !== 'one' && o.consumers !== 'many') invalidArgument(`consumers must be 'one' or 'many'`);
    const p2 = codecId(o.codec);
    return {
      byteLength: channelBytes(capacity, o.consumers, p2),
      p0: capacity,
      p1: (o.producers === 'many' ? CH_MANY_PRODUCERS : 0) | (o.consumers === 'many' ? CH_MANY_CONSUMERS : 0),
      p2,
    };
  },
  size(p) {
    if (!CHANNEL_LIMITS.isCapacity(p.p0) || (p.p1 & ~(CH_MANY_PRODUCERS | CH_MANY_CONSUMERS)) !== 0)
      return undefined;
    return channelBytes(p.p0, p.p1 & CH_MANY_CONSUMERS ? 'many' : 'one', p.p2);
  },
  describe(p) {
    const codec = Object.keys(BUILTIN_CODECS).find((k) => BUILTIN_CODECS[k] === p.p2) ?? 'a custom codec';
    return (
      `capacity ${p.p0}, producers '${p.p1 & CH_MANY_PRODUCERS ? 'many' : 'one'}', ` +
      `consumers '${p.p1 & CH_MANY_CONSUMERS ? 'many' : 'one'}', codec ${codec}`
    );
  },
  create: (r, o) =>
    new Channel<unknown>({
      capacity: o.capacity,
      producers: o.producers,
      consumers: o.consumers,
      codec: o.codec as Codec<unknown>,
      maxMessageSize: o.maxMessageSize,
      region: r,
    }),
  attach: (r, o) => Channel.attach<unknown>(r, { codec: o.codec as Codec<unknown> }),
};

/**
 * A channel's bytes. The codec matters: a `msgpack` channel (codec id 3) keeps its record
 * structures table after the ring, where Channel.byteLength knows about it.
 */
function channelBytes(capacity: number, consumers: 'one' | 'many', codec: number): number {
  const o: { consumers: 'one' | 'many'; codec?: 'msgpack' } = { consumers };
  if (codec === BUILTIN_CODECS.msgpack) o.codec = 'msgpack';
  return Channel.byteLength(capacity, o);
}

export const BYTES: ObjectKindDef<number, Uint8Array> = {
  id: 8,
  name: 'bytes region',
  tag: undefined,
  params: (byteLength) => noParams(validateInteger(byteLength, 'byteLength', 1, MAX_SEGMENT_BYTES)),
  size: (p) => p.byteLength,
  describe: (p) => `${p.byteLength} bytes`,
  create: (r) => r.bytes(),
  attach: (r) => r.bytes(),
};

/** What seg.struct / seg.structArray need of a struct type (StructType of @shmkit/struct has it). */
export interface SegmentStructType<V, A> {
  readonly name?: string;
  readonly byteLength: number;
  readonly alignment: number;
  readonly layoutHash: number;
  view(buffer: SharedArrayBuffer, byteOffset: number): V;
  array(buffer: SharedArrayBuffer, byteOffset: number, length: number): A;
}

/** The options of seg.struct (array false, length 1) and seg.structArray. */
export interface StructKindOptions {
  readonly type: SegmentStructType<unknown, unknown>;
  readonly length: number;
  readonly array: boolean;
}

/** p2 flag of a structArray, so a struct and a one-element structArray of one key never alias. */
const STRUCT_ARRAY_FLAG = 0x40000000;
const MAX_STRUCT_ELEMENT = STRUCT_ARRAY_FLAG - 1;

/**
 * Named structs: p0 = layout hash (another layout under the key is INCOMPATIBLE), p1 = element
 * count, p2 = element byteLength | STRUCT_ARRAY_FLAG for structArray. Plain data, zeroed when
 * created, no type tag (the segment does not depend on @shmkit/struct: any type of this shape).
 */
export const STRUCT: ObjectKindDef<StructKindOptions, unknown> = {
  id: 9,
  name: 'struct',
  tag: undefined,
  params(o) {
    const t = o.type as Partial<SegmentStructType<unknown, unknown>> | null;
    if (
      typeof t !== 'object' ||
      t === null ||
      typeof t.byteLength !== 'number' ||
      typeof t.layoutHash !== 'number' ||
      typeof t.view !== 'function' ||
      typeof t.array !== 'function'
    ) {
      invalidArgument('a struct type is made by struct() of @shmkit/struct');
    }
    validateInteger(t.byteLength, 'struct byteLength', 1, MAX_STRUCT_ELEMENT);
    validateInteger(o.length, 'length', 1, 2 ** 31 - 1);
    return {
      byteLength: t.byteLength! * o.length,
      p0: t.layoutHash! | 0,
      p1: o.length,
      p2: t.byteLength! | (o.array ? STRUCT_ARRAY_FLAG : 0),
    };
  },
  size(p) {
    const element = p.p2 & MAX_STRUCT_ELEMENT;
    if (!(p.p1 >= 1 && element >= 1) || (p.p2 & ~(MAX_STRUCT_ELEMENT | STRUCT_ARRAY_FLAG)) !== 0)
      return undefined;
    return p.p1 * element;
  },
  describe: (p) =>
    `layout hash ${(p.p0 >>> 0).toString(16)}, ${p.p1} x ${p.p2 & MAX_STRUCT_ELEMENT} bytes${p.p2 & STRUCT_ARRAY_FLAG ? ' (structArray)' : ''}`,
  create: (r, o) =>
    o.array ? o.type.array(r.buffer, r.byteOffset, o.length) : o.type.view(r.buffer, r.byteOffset),
  attach: (r, o) =>
    o.array ? o.type.array(r.buffer, r.byteOffset, o.length) : o.type.view(r.buffer, r.byteOffset),
};

/** Every kind, by id: the one table the directory reads entries with. */
// biome-ignore lint/suspicious/noExplicitAny: a table of kinds with different option and object types
const KINDS: readonly ObjectKindDef<any, unknown>[] = [
  MUTEX,
  CONDITION,
  SEMAPHORE,
  RWLOCK,
  BARRIER,
  LATCH,
  CHANNEL,
  BYTES,
  STRUCT,
];

const BY_ID = new Map(KINDS.map((k) => [k.id, k]));
if (BY_ID.size !== KINDS.length) throw new Error('two object kinds share an id');

/** The kind stored as `id`, or undefined for an id no kind has. */
export function kindById(id: number): ObjectKindDef<unknown, unknown> | undefined {
  return BY_ID.get(id);
}

/** The name of kind `id`, for messages. */
export function kindName(id: number): string {
  return BY_ID.get(id)?.name ?? `kind ${id}`;
}

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
