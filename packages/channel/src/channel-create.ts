/**
 * How a Channel comes to be, apart from the class itself: the constructor's options checked and
 * turned into header words (written in their publication order, tag last), Channel.byteLength,
 * the codec named by a handle, the layout version check on attach, and the msgpack codec bound to
 * a channel's structures table. channel.ts calls these; the bytes are in layout.ts and
 * docs/format.md.
 */
import { invalidArgument, publishTag, type Region, ShmkitError, validateInteger } from '@shmkit/core';
import {
  CHANNEL_LIMITS,
  type ChannelHandle,
  type ChannelOptions,
  type ChannelSizeOptions,
} from './channel-options.js';
import { type Codec, msgpackCodec, resolveCodec } from './codec.js';
import {
  CAPACITY,
  CHANNEL_TAG,
  DEFAULT_MAX_MESSAGE,
  EXT_BYTES,
  EXT_OFFSET,
  extensionOffset,
  FLAG_MANY_CONSUMERS,
  FLAG_MANY_PRODUCERS,
  FLAG_STRUCTURES,
  FLAGS,
  HEADER_BYTES,
  LAYOUT_VERSION,
  MAX_CAPACITY,
  MAX_FRAME,
  MAX_MAX_MESSAGE,
  MAX_MESSAGE,
  marksBytes,
  maxFrameFor,
  VERSION,
} from './layout.js';
import { initStructures, SharedStructures, STRUCTURES_BYTES } from './msgpack-structures.js';
import type { RingMemory } from './ring-memory.js';

/** A new channel's geometry and codec, checked: what the constructor writes into the header. */
export interface ChannelShape<T> {
  capacity: number;
  manyProducers: boolean;
  manyConsumers: boolean;
  maxMessage: number;
  maxFrame: number;
  /** The built-in msgpack codec keeps its record structures in the extension area. */
  structures: boolean;
  /** Bytes of the extension area (a multiple of 16). */
  extensionBytes: number;
  codec: Codec<T>;
}

/** Checks the constructor's options (INVALID_ARGUMENT) and fills in the defaults. */
export function channelShape<T>(o: ChannelOptions<T> | undefined): ChannelShape<T> {
  const capacity = CHANNEL_LIMITS.validateCapacity(o?.capacity ?? 1 << 20);
  const producers = o?.producers ?? 'one';
  const consumers = o?.consumers ?? 'one';
  if (producers !== 'one' && producers !== 'many') invalidArgument(`producers must be 'one' or 'many'`);
  if (consumers !== 'one' && consumers !== 'many') invalidArgument(`consumers must be 'one' or 'many'`);
  const maxFrame = maxFrameFor(capacity);
  let maxMessage = validateInteger(
    o?.maxMessageSize ?? DEFAULT_MAX_MESSAGE,
    'maxMessageSize',
    1,
    MAX_MAX_MESSAGE,
  );
  // Many consumers never fragment (each would get pieces): one frame is the largest message.
  if (maxMessage < maxFrame || consumers === 'many') maxMessage = maxFrame;
  const structures = o?.codec === 'msgpack';
  const extensionBytes = structures
    ? STRUCTURES_BYTES
    : roundExtension(validateInteger(o?.extensionBytes ?? 0, 'extensionBytes', 0, MAX_CAPACITY));
  return {
    capacity,
    manyProducers: producers === 'many',
    manyConsumers: consumers === 'many',
    maxMessage,
    maxFrame,
    structures,
    extensionBytes,
    codec: resolveCodec<T>(o?.codec),
  };
}

/** What Channel.byteLength computes (see there). */
export function channelByteLength(capacity: number, o?: ChannelSizeOptions): number {
  const ext = o?.codec === 'msgpack' ? STRUCTURES_BYTES : roundExtension(o?.extensionBytes ?? 0);
  return extensionOffset(capacity, o?.consumers === 'many') + ext;
}

/** The extension area starts and ends on a 16-byte boundary. */
function roundExtension(bytes: number): number {
  return (bytes + 15) & ~15;
}

/**
 * Writes a new channel's header, marks and structures table into its zeroed `region` (`i32` its
 * words). The tag is published last, so an attacher that sees it sees every word before it.
 */
export function initChannel(region: Region, i32: Int32Array, s: ChannelShape<unknown>): void {
  const extAt = extensionOffset(s.capacity, s.manyConsumers);
  Atomics.store(i32, VERSION, LAYOUT_VERSION);
  Atomics.store(i32, CAPACITY, s.capacity);
  Atomics.store(
    i32,
    FLAGS,
    (s.manyProducers ? FLAG_MANY_PRODUCERS : 0) |
      (s.manyConsumers ? FLAG_MANY_CONSUMERS : 0) |
      (s.structures ? FLAG_STRUCTURES : 0),
  );
  if (s.structures) initStructures(region.buffer, region.byteOffset + extAt);
  Atomics.store(i32, MAX_MESSAGE, s.maxMessage);
  Atomics.store(i32, MAX_FRAME, s.maxFrame);
  Atomics.store(i32, EXT_OFFSET, s.extensionBytes === 0 ? 0 : extAt);
  Atomics.store(i32, EXT_BYTES, s.extensionBytes);
  if (s.manyConsumers) {
    // Marks start odd: "not released" for every position (positions are multiples of 16).
    new Int32Array(
      region.buffer,
      region.byteOffset + HEADER_BYTES + s.capacity,
      marksBytes(s.capacity) / 4,
    ).fill(1);
  }
  // SYNC POINT (write): the tag is published last; attach() reads it before any other word.
  publishTag(region, CHANNEL_TAG);
}

/**
 * The codec for Channel.from(handle): the built-in one the handle names, or `codec` (needed
 * again for a channel made with a custom codec: INVALID_ARGUMENT without it).
 */
export function codecForHandle<T>(handle: ChannelHandle, codec: Codec<T> | undefined): Codec<T> {
  if (codec !== undefined) return codec;
  const name = (handle as Partial<ChannelHandle>).codec;
  if (name !== 'bytes' && name !== 'utf8' && name !== 'msgpack') {
    invalidArgument(`this channel uses the custom codec ${JSON.stringify(name)}: pass it as { codec }`);
  }
  return resolveCodec<T>(name);
}

/** INCOMPATIBLE unless the channel in `i32` has this shmkit's layout version. */
export function checkLayoutVersion(i32: Int32Array): void {
  // SYNC POINT (read): the tag was checked by attach(); the version was stored before it.
  const version = Atomics.load(i32, VERSION);
  if (version !== LAYOUT_VERSION) {
    throw new ShmkitError(
      'INCOMPATIBLE',
      `channel layout version ${version}, this shmkit reads ${LAYOUT_VERSION}`,
    );
  }
}

/**
 * The built-in msgpack codec bound to the channel's structures table, when it has one (see
 * msgpack-structures.ts); any other codec as it is. CORRUPT for a flag without its table.
 */
export function withStructures<T>(codec: Codec<T>, ring: RingMemory, buffer: SharedArrayBuffer): Codec<T> {
  if ((Atomics.load(ring.i32, FLAGS) & FLAG_STRUCTURES) === 0 || codec.name !== 'msgpack') return codec;
  const ext = ring.extension;
  if (ext === undefined || ext.byteLength < STRUCTURES_BYTES) {
    throw new ShmkitError(
      'CORRUPT',
      'the channel says it has a msgpack structures table, but its memory ends before it',
    );
  }
  return msgpackCodec<T>({ structures: new SharedStructures(buffer, ext.byteOffset) });
}
