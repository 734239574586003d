/**
 * The Channel's public shapes besides the class: options, handle, poll handler, and its limits
 * (exported once here, for every package that sizes channels).
 */
import { type Handle, invalidArgument, type Region, validateInteger } from '@shmkit/core';
import type { Codec, CodecName } from './codec.js';
import {
  DEFAULT_MAX_MESSAGE,
  HEADER_BYTES,
  MAX_CAPACITY,
  MAX_MAX_MESSAGE,
  MIN_CAPACITY,
  maxFrameFor,
} from './layout.js';

/** Whether `n` is a valid ring capacity: a power of two from 256 to 2^30. */
function isCapacity(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CAPACITY && n <= MAX_CAPACITY && (n & (n - 1)) === 0;
}

/** `n` if it is a valid ring capacity; INVALID_ARGUMENT otherwise. */
function validateCapacity(n: unknown): number {
  validateInteger(n, 'capacity', MIN_CAPACITY, MAX_CAPACITY);
  if (!isCapacity(n as number)) invalidArgument(`capacity must be a power of two, got ${String(n)}`);
  return n as number;
}

/**
 * Limits of a Channel, exported once for every package that sizes channels.
 *
 * @example
 * ```ts
 * CHANNEL_LIMITS.isCapacity(4096);        // true: a power of two in [minCapacity, maxCapacity]
 * CHANNEL_LIMITS.maxFrameSize(4096);      // the largest message one frame of that ring carries
 * ```
 */
export const CHANNEL_LIMITS = {
  /** Smallest ring, bytes. */
  minCapacity: MIN_CAPACITY,
  /** Largest ring, bytes. */
  maxCapacity: MAX_CAPACITY,
  /** Bytes before the ring. */
  headerBytes: HEADER_BYTES,
  /** Default maxMessageSize (64 MiB). */
  defaultMaxMessageSize: DEFAULT_MAX_MESSAGE,
  /** Largest maxMessageSize. */
  maxMaxMessageSize: MAX_MAX_MESSAGE,
  /** The largest payload one frame of a ring of `capacity` bytes carries. */
  maxFrameSize: maxFrameFor,
  /** Whether `n` is a valid ring capacity: a power of two from minCapacity to maxCapacity. */
  isCapacity,
  /** `n` if it is a valid ring capacity; INVALID_ARGUMENT otherwise. */
  validateCapacity,
} as const;

/** Options of the Channel constructor. */
export interface ChannelOptions<T> {
  /** Bytes of the ring, a power of two from 256 to 2^30 (default 1 MiB). */
  capacity?: number;
  /** 'bytes' (default), 'utf8', 'msgpack', or a Codec object. */
  codec?: CodecName | Codec<T>;
  /** 'one' (default): a single thread sends at a time — the fast path, no lock. 'many': any number. */
  producers?: 'one' | 'many';
  /** 'one' (default): a single thread receives at a time. 'many': each message goes to exactly one receiver. */
  consumers?: 'one' | 'many';
  /**
   * The largest message, in bytes (default 64 MiB, at most 2^30). Messages larger than one frame
   * (half the ring) are split into frames and reassembled. Many-consumer channels do not split:
   * there it is one frame, and larger messages are TOO_LARGE.
   */
  maxMessageSize?: number;
  /** Bytes of an extension area at the end of the channel's memory (the msgpack codec's tables). */
  extensionBytes?: number;
  /** Place the channel in this region (at least Channel.byteLength(capacity, ...) bytes). */
  region?: Region;
}

/** What besides its capacity sizes a channel's memory (see {@link Channel.byteLength}). */
export interface ChannelSizeOptions {
  consumers?: 'one' | 'many';
  codec?: CodecName | Codec<unknown> | string | undefined;
  extensionBytes?: number;
}

/** A channel's handle: the shared memory and the codec name. */
export interface ChannelHandle extends Handle {
  readonly codec: string;
}

/** The handler of {@link Channel.poll}: the message is `buf[offset, offset + length)`, valid during the call. */
export type PollHandler = (buf: Uint8Array, offset: number, length: number) => void;
