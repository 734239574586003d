/**
 * Memory layout of a Channel (layout version 2): a header of isolated cache lines, the ring of
 * frames, the release marks (many consumers) and an optional extension area. docs/format.md
 * holds the same table for readers in other languages; test/format pins these constants to it.
 *
 * | byte   | field                          | written by                                        |
 * |--------|--------------------------------|---------------------------------------------------|
 * | 0      | tag, version, capacity, flags, | the creator (read-only afterwards)                |
 * |        | maxMessage, maxFrame, ext area |                                                   |
 * | 20     | closed                         | close()                                           |
 * | 128    | tail                           | the producer ('one'): end of published frames     |
 * | 132    | reserve                        | the claim-lock holder ('many'): end of claimed frames |
 * | 136    | claimLock                      | producers ('many'): 0, or the token of the claimer (CAS) |
 * | 140    | claimEnd                       | the claim-lock holder: the end it is about to claim |
 * | 256    | head                           | consumers: end of released space                  |
 * | 384    | readClaim                      | consumers ('many'): end of claimed frames (CAS)   |
 * | 512    | dataSignal, recvSleepers       | producers bump the signal; sleeping receivers count themselves |
 * | 640    | spaceSignal, sendSleepers      | consumers bump the signal; sleeping senders count themselves |
 * | 768    | registry overflow flag         | a producer that found no free registry slot       |
 * | 772    | 63 producer tokens (0 = free)  | producers register on their first send (liveness) |
 * | 1024   | ring: `capacity` bytes of frames                                                    |
 * | 1024 + capacity | marks (many consumers only): one int32 per 16-byte cell of the ring      |
 * | word EXT_OFFSET | extension area of EXT_BYTES bytes: with FLAG_STRUCTURES, the msgpack codec's
 *          record structures table (msgpack-structures.ts; STRUCTURES_BYTES)                  |
 *
 * Positions (tail, reserve, claimEnd, head, readClaim) are byte counts modulo 2^32 that only
 * grow; the ring offset of a position is `pos & (capacity - 1)`. Distances are `(a - b) >>> 0`,
 * which stays correct across the 2^32 wrap because capacity <= 2^30.
 *
 * A frame is a 16-byte header and its payload, padded to a multiple of 16 bytes (so the room left
 * before the wrap is always 0 or enough for at least a padding frame's header):
 *   word 0, state: `len + 1` = committed; `-(len + 1)` = claimed and being written (many
 *           producers only). Every frame start below tail/reserve has a nonzero state.
 *   word 1: frame size in bytes (header included, a multiple of 16) | kind in bits 0-2:
 *           MSG a whole message; PAD fills the end of the ring when the next frame does not fit
 *           before the wrap; SKIP carries nothing (a claim given back, or a dead producer's);
 *           FIRST / MIDDLE / LAST: the fragments of one message larger than a frame.
 *   word 2: token of the producer that wrote it (liveness checks, fragment reassembly)
 *   word 3: many consumers: token of the consumer that claimed it; FIRST with one consumer: the
 *           whole message's length; otherwise 0.
 * Every value read back from a header is checked against the ring bounds before use: memory that
 * another party can write is untrusted, and a nonsense header becomes CORRUPT, never an
 * out-of-bounds read or an endless loop.
 */
import { defineTag } from '@shmkit/core';

/** 2: claim lock + claimEnd (a claimer's death is recoverable), fragments, no scrubbing, extension area. */
export const LAYOUT_VERSION = 2;
/** The tag carries the layout version in its high byte (docs/format.md, "Type tags and layout versions"). */
export const CHANNEL_TAG = defineTag('ch', 'Channel', LAYOUT_VERSION);

// Int32 indices of the header words.
export const TAG = 0;
export const VERSION = 1;
export const CAPACITY = 2;
export const FLAGS = 3;
export const MAX_MESSAGE = 4;
export const CLOSED = 5;
export const MAX_FRAME = 6;
export const EXT_OFFSET = 7;
export const EXT_BYTES = 8;
export const TAIL = 32;
export const RESERVE = 33;
export const CLAIM_LOCK = 34;
export const CLAIM_END = 35;
export const HEAD = 64;
export const READ_CLAIM = 96;
export const DATA_SIGNAL = 128;
export const RECV_SLEEPERS = 129;
export const SPACE_SIGNAL = 160;
export const SEND_SLEEPERS = 161;
export const REGISTRY_OVERFLOW = 192;
export const REGISTRY_FIRST = 193;
export const REGISTRY_END = 256;

export const HEADER_BYTES = 1024;
export const FRAME_HEADER = 16;

export const FLAG_MANY_PRODUCERS = 1;
export const FLAG_MANY_CONSUMERS = 2;
/** The extension area holds a msgpack structures table (codec 'msgpack'): see msgpack-structures.ts. */
export const FLAG_STRUCTURES = 4;

export const KIND_MSG = 1;
export const KIND_PAD = 2;
export const KIND_SKIP = 3;
export const KIND_FIRST = 4;
export const KIND_MIDDLE = 5;
export const KIND_LAST = 6;
export const KIND_MASK = 7;

/** Bytes of the marks array that many consumers need beside a ring of `capacity` bytes. */
export function marksBytes(capacity: number): number {
  return capacity / 4;
}

export const MIN_CAPACITY = 256;
export const MAX_CAPACITY = 1 << 30;
/** Default limit of one message (split into frames as needed): 64 MiB. */
export const DEFAULT_MAX_MESSAGE = 64 << 20;
/** Largest maxMessageSize a channel accepts (lengths travel in int32 header words). */
export const MAX_MAX_MESSAGE = 1 << 30;

/** Bytes a frame with a payload of `len` bytes occupies. */
export function frameSize(len: number): number {
  return (FRAME_HEADER + len + 15) & ~15;
}

/** The largest payload one frame can carry in a ring of `capacity` bytes. */
export function maxFrameFor(capacity: number): number {
  // A frame larger than half the ring may never find contiguous room, wherever the wrap falls.
  return capacity / 2 - FRAME_HEADER;
}

/** Byte offset of the extension area of a channel (after ring and marks). */
export function extensionOffset(capacity: number, manyConsumers: boolean): number {
  return HEADER_BYTES + capacity + (manyConsumers ? marksBytes(capacity) : 0);
}
