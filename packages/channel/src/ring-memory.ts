import type { Waiter } from '@shmkit/core';
import { ShmkitError } from '@shmkit/core';
import {
  CAPACITY,
  FLAG_MANY_CONSUMERS,
  FLAG_MANY_PRODUCERS,
  FLAGS,
  FRAME_HEADER,
  HEADER_BYTES,
  KIND_MASK,
  KIND_MSG,
  KIND_PAD,
  KIND_SKIP,
  MAX_CAPACITY,
  MAX_MESSAGE,
  MIN_CAPACITY,
  marksBytes,
  maxMessageFor,
  SEND_SLEEPERS,
  SPACE_SIGNAL,
} from './layout.js';

/** A frame found at a position: where it is and what it holds (all bounds-checked). */
export interface FrameInfo {
  /** Position (mod 2^32) of the frame. */
  pos: number;
  /** Bytes the frame occupies, header included. */
  size: number;
  kind: number;
  /** Payload length (MSG only). */
  len: number;
  /** Byte offset of the payload in the region. */
  offset: number;
}

/**
 * The views and constants every ring algorithm needs, read once from the channel header and
 * validated: capacity and flags come from shared memory, so a forged header is refused here
 * rather than trusted later.
 */
export class RingMemory {
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly capacity: number;
  readonly mask: number;
  readonly maxMessage: number;
  readonly manyProducers: boolean;
  readonly manyConsumers: boolean;
  /** Release marks, one per 16-byte cell (many consumers only); see consumer.ts. */
  readonly marks: Int32Array | undefined;

  constructor(
    i32: Int32Array,
    u8: Uint8Array,
    readonly waiter: Waiter,
  ) {
    this.i32 = i32;
    this.u8 = u8;
    const capacity = Atomics.load(i32, CAPACITY);
    if (
      capacity < MIN_CAPACITY ||
      capacity > MAX_CAPACITY ||
      (capacity & (capacity - 1)) !== 0 ||
      HEADER_BYTES + capacity > u8.byteLength
    ) {
      throw new ShmkitError('CORRUPT', `channel header names a capacity of ${capacity} bytes`);
    }
    const maxMessage = Atomics.load(i32, MAX_MESSAGE);
    if (maxMessage !== maxMessageFor(capacity)) {
      throw new ShmkitError('CORRUPT', `channel header names a max message of ${maxMessage} bytes`);
    }
    const flags = Atomics.load(i32, FLAGS);
    const manyConsumers = (flags & FLAG_MANY_CONSUMERS) !== 0;
    const marks = manyConsumers ? marksBytes(capacity) : 0;
    if (HEADER_BYTES + capacity + marks > u8.byteLength) {
      throw new ShmkitError('CORRUPT', `channel header names a ring larger than its memory`);
    }
    this.marks = manyConsumers
      ? new Int32Array(u8.buffer, u8.byteOffset + HEADER_BYTES + capacity, marks / 4)
      : undefined;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxMessage = maxMessage;
    this.manyProducers = (flags & FLAG_MANY_PRODUCERS) !== 0;
    this.manyConsumers = manyConsumers;
  }

  /** Int32 index of header word 0 of the frame at ring offset `idx`. */
  word(idx: number): number {
    return (HEADER_BYTES + idx) >> 2;
  }

  /**
   * Reads and validates the frame at `pos`, given that `limit` bytes past `pos` are published
   * (or claimed). `w0` is the state word already loaded by the caller. CORRUPT on any header
   * that could send a reader out of the ring or past what was published.
   */
  frameAt(pos: number, w0: number, limit: number, out: FrameInfo): void {
    const idx = pos & this.mask;
    const w1 = this.i32[this.word(idx) + 1]!;
    const size = w1 & ~KIND_MASK;
    const kind = w1 & KIND_MASK;
    if (size < FRAME_HEADER || size > limit || idx + size > this.capacity) {
      throw corrupt(`a frame of ${size} bytes at offset ${idx} (${limit} bytes published)`);
    }
    let len = 0;
    if (kind === KIND_MSG) {
      len = w0 - 1;
      if (len < 0 || FRAME_HEADER + len > size)
        throw corrupt(`a message of ${len} bytes in a ${size}-byte frame`);
    } else if (kind === KIND_PAD) {
      if (idx + size !== this.capacity) throw corrupt(`a padding frame that does not end the ring`);
    } else if (kind !== KIND_SKIP) {
      throw corrupt(`a frame of unknown kind ${kind}`);
    }
    out.pos = pos;
    out.size = size;
    out.kind = kind;
    out.len = len;
    out.offset = HEADER_BYTES + idx + FRAME_HEADER;
  }

  /** Zeroes released frames so that stale bytes never read as a committed header (many producers). */
  scrub(pos: number, size: number): void {
    const start = HEADER_BYTES + (pos & this.mask);
    this.u8.fill(0, start, start + size);
  }

  /** After releasing space: wakes senders, only if one sleeps (no syscall on the fast path). */
  signalSpace(): void {
    if (Atomics.load(this.i32, SEND_SLEEPERS) !== 0) {
      Atomics.add(this.i32, SPACE_SIGNAL, 1);
      this.waiter.notify(this.i32, SPACE_SIGNAL, Number.POSITIVE_INFINITY);
    }
  }
}

export function corrupt(what: string): ShmkitError {
  return new ShmkitError('CORRUPT', `channel memory is corrupt: ${what}`);
}
