/**
 * The kinds of named objects a segment holds: one row per kind, and nothing about kinds anywhere
 * else. The directory (directory.ts) stores a kind's `id`, the object's byteLength and three
 * param words in each entry, and validates entries it reads with `size`; Segment's named-object
 * methods (named-objects.ts) hand the caller's options to `params`, then `create` or `attach`.
 *
 * Adding a kind is one row in KINDS (an id never used before: ids are stored in segments) and the
 * public method that calls `object(key, KIND, options)`. Its params must be a pure function of
 * the options, so that every process asking for the same object computes the same entry, and
 * `size` must reject every params an entry could hold that `params` never produces (entries are
 * untrusted: a bad one is CORRUPT, never an out-of-bounds view).
 */
import { CHANNEL_LIMITS, Channel, type ChannelOptions, type Codec } from '@shmkit/channel';
import { invalidArgument, type Region, validateInteger } from '@shmkit/core';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import { MAX_SEGMENT_BYTES } from './header.js';

/**
 * The three param words of a directory entry (docs/format.md's p0, p1, p2), int32 each. What they
 * hold is the kind's business, written at its row below (a Semaphore's initial count and max, a
 * Channel's capacity, flags and codec, ...); unused words are 0. Entries are compared word by word.
 */
export type ParamWords = readonly [number, number, number];

/** What an entry stores about its object besides the key and kind. */
export interface ObjectParams {
  readonly byteLength: number;
  readonly params: ParamWords;
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
/** Channel flags in params[1]. */
const CH_MANY_PRODUCERS = 1;
const CH_MANY_CONSUMERS = 2;
const BUILTIN_CODECS: Record<string, number> = { bytes: 1, utf8: 2, msgpack: 3 };
const NO_PARAMS: ParamWords = [0, 0, 0];

/** How a primitive of @shmkit/sync (fixed size, tagged with its name) is made from its options. */
interface PrimitiveSpec<O, T> {
  /** Validates the options (INVALID_ARGUMENT) into the param words; default: no parameters. */
  params?: (o: O) => ParamWords;
  /** The params in words, for messages (given the words `params` wrote). */
  describe?: (words: ParamWords) => string;
  create(region: Region, o: O): T;
  attach(region: Region): T;
}

/** The row of a primitive of @shmkit/sync: `SIZE` bytes whatever its params, tag = name. */
function primitive<O, T>(
  id: number,
  name: string,
  SIZE: number,
  spec: PrimitiveSpec<O, T>,
): ObjectKindDef<O, T> {
  return {
    id,
    name,
    tag: name,
    params: (o) => ({ byteLength: SIZE, params: spec.params?.(o) ?? NO_PARAMS }),
    size: () => SIZE,
    describe: (p) => spec.describe?.(p.params) ?? 'no parameters',
    create: (r, o) => spec.create(r, o),
    attach: (r) => spec.attach(r),
  };
}

export const MUTEX = primitive<void, Mutex>(1, 'Mutex', Mutex.SIZE, {
  create: (r) => new Mutex({ region: r }),
  attach: (r) => Mutex.attach(r),
});

export const CONDITION = primitive<void, Condition>(2, 'Condition', Condition.SIZE, {
  create: (r) => new Condition({ region: r }),
  attach: (r) => Condition.attach(r),
});

/** Params: [initial permits, max permits, 0]. */
export const SEMAPHORE = primitive<{ initial: number; max: number }, Semaphore>(
  3,
  'Semaphore',
  Semaphore.SIZE,
  {
    params(o) {
      const max = validateInteger(o.max, 'max', 1, INT32_MAX);
      return [validateInteger(o.initial, 'initial', 0, max), max, 0];
    },
    describe: ([initial, max]) => `initial ${initial}, max ${max}`,
    create: (r, o) => new Semaphore(o.initial, { max: o.max, region: r }),
    attach: (r) => Semaphore.attach(r),
  },
);

export const RWLOCK = primitive<void, RwLock>(4, 'RwLock', RwLock.SIZE, {
  create: (r) => new RwLock({ region: r }),
  attach: (r) => RwLock.attach(r),
});

/** Params: [parties, 0, 0]. */
export const BARRIER = primitive<number, Barrier>(5, 'Barrier', Barrier.SIZE, {
  params: (parties) => [validateInteger(parties, 'parties', 1, 0xffff), 0, 0],
  describe: ([parties]) => `${parties} parties`,
  create: (r, parties) => new Barrier(parties, { region: r }),
  attach: (r) => Barrier.attach(r),
});

/** Params: [initial count, 0, 0]. */
export const LATCH = primitive<number, Latch>(6, 'Latch', Latch.SIZE, {
  params: (count) => [validateInteger(count, 'count', 0, INT32_MAX), 0, 0],
  describe: ([count]) => `count ${count}`,
  create: (r, count) => new Latch(count, { region: r }),
  attach: (r) => Latch.attach(r),
});

/** The options of seg.channel(), defaults applied. */
export interface ChannelKindOptions<T> {
  readonly capacity: number;
  readonly producers: 'one' | 'many';
  readonly consumers: 'one' | 'many';
  readonly codec: NonNullable<ChannelOptions<T>['codec']>;
  /** Kept in the channel's own header (the creator's value wins): not a directory param. */
  readonly maxMessageSize?: number | undefined;
}

/** Params: [capacity, CH_MANY_PRODUCERS | CH_MANY_CONSUMERS, codec id (see codecId)]. */
export const CHANNEL: ObjectKindDef<ChannelKindOptions<unknown>, Channel<unknown>> = {
  id: 7,
  name: 'Channel',
  tag: 'Channel',
  params(o) {
    const capacity = CHANNEL_LIMITS.validateCapacity(o.capacity);
    if (o.producers !== 'one' && o.producers !== 'many') invalidArgument(`producers must be 'one' or 'many'`);
    if (o.consumers !== 'one' && o.consumers !== 'many') invalidArgument(`consumers must be 'one' or 'many'`);
    const codec = codecId(o.codec);
    const flags =
      (o.producers === 'many' ? CH_MANY_PRODUCERS : 0) | (o.consumers === 'many' ? CH_MANY_CONSUMERS : 0);
    return { byteLength: channelBytes(capacity, o.consumers, codec), params: [capacity, flags, codec] };
  },
  size({ params: [capacity, flags, codec] }) {
    if (!CHANNEL_LIMITS.isCapacity(capacity) || (flags & ~(CH_MANY_PRODUCERS | CH_MANY_CONSUMERS)) !== 0)
      return undefined;
    return channelBytes(capacity, flags & CH_MANY_CONSUMERS ? 'many' : 'one', codec);
  },
  describe({ params: [capacity, flags, codec] }) {
    const name = Object.keys(BUILTIN_CODECS).find((k) => BUILTIN_CODECS[k] === codec) ?? 'a custom codec';
    return (
      `capacity ${capacity}, producers '${flags & CH_MANY_PRODUCERS ? 'many' : 'one'}', ` +
      `consumers '${flags & CH_MANY_CONSUMERS ? 'many' : 'one'}', codec ${name}`
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
  params: (byteLength) => ({
    byteLength: validateInteger(byteLength, 'byteLength', 1, MAX_SEGMENT_BYTES),
    params: NO_PARAMS,
  }),
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

/** params[2] flag of a structArray, so a struct and a one-element structArray of one key never alias. */
const STRUCT_ARRAY_FLAG = 0x40000000;
const MAX_STRUCT_ELEMENT = STRUCT_ARRAY_FLAG - 1;

/**
 * Named structs. Params: [layout hash (another layout under the key is INCOMPATIBLE), element
 * count, element byteLength | STRUCT_ARRAY_FLAG for structArray]. Plain data, zeroed when
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
      params: [t.layoutHash! | 0, o.length, t.byteLength! | (o.array ? STRUCT_ARRAY_FLAG : 0)],
    };
  },
  size({ params: [, count, elementWord] }) {
    const element = elementWord & MAX_STRUCT_ELEMENT;
    if (!(count >= 1 && element >= 1) || (elementWord & ~(MAX_STRUCT_ELEMENT | STRUCT_ARRAY_FLAG)) !== 0)
      return undefined;
    return count * element;
  },
  describe: ({ params: [hash, count, elementWord] }) =>
    `layout hash ${(hash >>> 0).toString(16)}, ${count} x ${elementWord & MAX_STRUCT_ELEMENT} bytes${elementWord & STRUCT_ARRAY_FLAG ? ' (structArray)' : ''}`,
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
