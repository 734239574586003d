/**
 * The views and constants every ring algorithm needs, read once from the channel header and
 * validated, plus the frame-header reader that every consumer path uses (layout in layout.ts).
 */
import type { Waiter } from '@shmkit/core';
import { ShmkitError } from '@shmkit/core';
import {
  CAPACITY,
  EXT_BYTES,
  EXT_OFFSET,
  extensionOffset,
  FLAG_MANY_CONSUMERS,
  FLAG_MANY_PRODUCERS,
  FLAGS,
  FRAME_HEADER,
  HEADER_BYTES,
  KIND_FIRST,
  KIND_LAST,
  KIND_MASK,
  KIND_MIDDLE,
  KIND_MSG,
  KIND_PAD,
  KIND_SKIP,
  MAX_CAPACITY,
  MAX_FRAME,
  MAX_MAX_MESSAGE,
  MAX_MESSAGE,
  MIN_CAPACITY,
  marksBytes,
  maxFrameFor,
  SEND_SLEEPERS,
  SPACE_SIGNAL,
} from './layout.js';
import { wake } from './wake.js';

/** A frame found at a position: where it is and what it holds (all bounds-checked). */
export interface FrameInfo {
  /** Position (mod 2^32) of the frame. */
  pos: number;
  /** Bytes the frame occupies, header included. */
  size: number;
  kind: number;
  /** Payload length (MSG and fragments). */
  len: number;
  /** Byte offset of the payload in the region. */
  offset: number;
  /** Header word 2: the producer's token. */
  producer: number;
  /** FIRST: the whole message's length (header word 3); 0 otherwise. */
  total: number;
}

export function newFrameInfo(): FrameInfo {
  return { pos: 0, size: 0, kind: 0, len: 0, offset: 0, producer: 0, total: 0 };
}

/**
 * Validated geometry of one channel. Capacity, flags and limits come from shared memory, so a
 * forged header is refused here (CORRUPT) rather than trusted later.
 */
export class RingMemory {
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly capacity: number;
  readonly mask: number;
  /** Largest payload of one frame. */
  readonly maxFrame: number;
  /** Largest message (fragmented when above maxFrame). */
  readonly maxMessage: number;
  readonly manyProducers: boolean;
  readonly manyConsumers: boolean;
  /** Release marks, one per 16-byte cell (many consumers only); see consumer.ts. */
  readonly marks: Int32Array | undefined;
  /** The extension area (msgpack record structures), if the channel has one. */
  readonly extension: Uint8Array | undefined;

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
    const maxFrame = Atomics.load(i32, MAX_FRAME);
    if (maxFrame !== maxFrameFor(capacity)) {
      throw new ShmkitError('CORRUPT', `channel header names a max frame of ${maxFrame} bytes`);
    }
    const flags = Atomics.load(i32, FLAGS);
    const manyConsumers = (flags & FLAG_MANY_CONSUMERS) !== 0;
    const maxMessage = Atomics.load(i32, MAX_MESSAGE);
    if (maxMessage < maxFrame || maxMessage > MAX_MAX_MESSAGE || (manyConsumers && maxMessage !== maxFrame)) {
      throw new ShmkitError('CORRUPT', `channel header names a max message of ${maxMessage} bytes`);
    }
    const marks = manyConsumers ? marksBytes(capacity) : 0;
    if (HEADER_BYTES + capacity + marks > u8.byteLength) {
      throw new ShmkitError('CORRUPT', `channel header names a ring larger than its memory`);
    }
    const extBytes = Atomics.load(i32, EXT_BYTES);
    const extOffset = Atomics.load(i32, EXT_OFFSET);
    if (extBytes !== 0) {
      if (
        extOffset !== extensionOffset(capacity, manyConsumers) ||
        extBytes < 0 ||
        extOffset + extBytes > u8.byteLength
      ) {
        throw new ShmkitError('CORRUPT', `channel header names an extension area outside its memory`);
      }
      this.extension = u8.subarray(extOffset, extOffset + extBytes);
    } else {
      this.extension = undefined;
    }
    this.marks = manyConsumers
      ? new Int32Array(u8.buffer, u8.byteOffset + HEADER_BYTES + capacity, marks / 4)
      : undefined;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxFrame = maxFrame;
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
   * (or claimed). `w0` is the state word already loaded (acquire) by the caller. CORRUPT on any
   * header that could send a reader out of the ring or past what was published.
   */
  frameAt(pos: number, w0: number, limit: number, out: FrameInfo): void {
    const idx = pos & this.mask;
    const w = this.word(idx);
    const w1 = this.i32[w + 1]!;
    const size = w1 & ~KIND_MASK;
    const kind = w1 & KIND_MASK;
    if (size < FRAME_HEADER || size > limit || idx + size > this.capacity) {
      throw corrupt(`a frame of ${size} bytes at offset ${idx} (${limit} bytes published)`);
    }
    let len = 0;
    let total = 0;
    if (kind === KIND_MSG || kind === KIND_FIRST || kind === KIND_MIDDLE || kind === KIND_LAST) {
      len = w0 - 1;
      if (len < 0 || FRAME_HEADER + len > size)
        throw corrupt(`a message of ${len} bytes in a ${size}-byte frame`);
      if (kind === KIND_FIRST) {
        if (this.manyConsumers) throw corrupt('a fragment in a channel with many consumers');
        total = this.i32[w + 3]!;
        if (total <= len || total > this.maxMessage)
          throw corrupt(`a fragmented message of ${total} bytes (max ${this.maxMessage})`);
      }
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
    out.producer = this.i32[w + 2]!;
    out.total = total;
  }

  /** After releasing space: wakes senders, only if one sleeps (no syscall on the fast path). */
  signalSpace(): void {
    wake(this.i32, this.waiter, SPACE_SIGNAL, SEND_SLEEPERS, Number.POSITIVE_INFINITY);
  }
}

export function corrupt(what: string): ShmkitError {
  return new ShmkitError('CORRUPT', `channel memory is corrupt: ${what}`);
}
