/**
 * Memory layout of a Channel: a header of isolated cache lines, then the ring of frames.
 *
 * | offset | field                          | written by                                        |
 * |--------|--------------------------------|---------------------------------------------------|
 * | 0      | tag, version, capacity, flags, | constructor (read-only afterwards)                |
 * |        | maxMessage; closed             | close()                                           |
 * | 128    | tail                           | the producer ('one'): end of published frames     |
 * | 132    | reserve                        | producers ('many'): end of claimed space (CAS)    |
 * | 256    | head                           | consumers: end of released space                  |
 * | 384    | readClaim                      | consumers ('many'): end of claimed frames (CAS)   |
 * | 512    | dataSignal, recvSleepers       | producers bump the signal; sleeping receivers count themselves |
 * | 640    | spaceSignal, sendSleepers      | consumers bump the signal; sleeping senders count themselves |
 * | 768    | registry overflow flag         | a producer that found no free registry slot       |
 * | 772    | 63 producer tokens (0 = free)  | producers register on their first send (liveness) |
 * | 1024   | ring: `capacity` bytes of frames                                                    |
 * | 1024 + capacity | marks (many consumers only): one int32 per 16-byte cell of the ring      |
 * | then   | msgpack structures table (FLAG_STRUCTURES only): see msgpack-structures.ts       |
 *
 * Positions (tail, reserve, head, readClaim) are byte counts modulo 2^32 that only grow; the ring
 * offset of a position is `pos & (capacity - 1)`. Distances are `(a - b) >>> 0`, which stays
 * correct across the 2^32 wrap because capacity <= 2^30.
 *
 * A frame is a 16-byte header and its payload, padded to a multiple of 16 bytes (so the room left
 * before the wrap is always 0 or enough for at least a padding frame's header):
 *   word 0: 0 = not written yet; -(len + 1) = claimed, being written; len + 1 = committed
 *   word 1: frame size in bytes (header included, a multiple of 16) | kind in bits 0-2:
 *           MSG; PAD fills the end of the ring when the next frame does not fit before the wrap;
 *           SKIP carries nothing (a claim given back, or a dead producer's unfinished frame)
 *   word 2: token of the producer that claimed the frame (many producers), for liveness checks
 *   word 3: reserved, 0
 * Every value read back from a header is checked against the ring bounds before use: memory that
 * another party can write is untrusted, and a nonsense header becomes CORRUPT, never an
 * out-of-bounds read or an endless loop.
 */
import { defineTag } from '@shmkit/core';

export const CHANNEL_TAG = defineTag('SKch', 'Channel');
export const LAYOUT_VERSION = 1;

// Int32 indices of the header words.
export const TAG = 0;
export const VERSION = 1;
export const CAPACITY = 2;
export const FLAGS = 3;
export const MAX_MESSAGE = 4;
export const CLOSED = 5;
export const TAIL = 32;
export const RESERVE = 33;
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
/** The channel has a msgpack structures table after the ring (and marks): codec 'msgpack'. */
export const FLAG_STRUCTURES = 4;

export const KIND_MSG = 1;
export const KIND_PAD = 2;
export const KIND_SKIP = 3;
export const KIND_MASK = 7;

/** Bytes of the marks array that many consumers need beside a ring of `capacity` bytes. */
export function marksBytes(capacity: number): number {
  return capacity / 4;
}

export const MIN_CAPACITY = 256;
export const MAX_CAPACITY = 1 << 30;

/** Bytes a frame with a payload of `len` bytes occupies. */
export function frameSize(len: number): number {
  return (FRAME_HEADER + len + 15) & ~15;
}

/** The largest payload one frame can carry in a ring of `capacity` bytes. */
export function maxMessageFor(capacity: number): number {
  // A frame larger than half the ring may never find contiguous room, wherever the wrap falls.
  return capacity / 2 - FRAME_HEADER;
}
