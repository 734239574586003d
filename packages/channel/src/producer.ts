/**
 * The producer side of the ring: claim room for a frame, fill it, publish it.
 *
 * 'one' (SingleProducer): the only writer of `tail`. Frames are published by storing the new
 * tail; no CAS, and the consumer never needs to look at a frame before the tail covers it.
 *
 * 'many' (MultiProducer): producers claim room by CAS on `reserve`, write their frame's state
 * word as "being written", copy, then publish the frame by storing its length. A CAS rather than
 * an atomic add: an add could claim room that is not free yet, and a producer that then timed
 * out, was aborted or died would leave a hole in the ring that nobody could fill. With a CAS a
 * claim exists only once its room is free, so it always completes or is given back as a SKIP.
 */
import {
  DATA_SIGNAL,
  FRAME_HEADER,
  frameSize,
  HEAD,
  KIND_MSG,
  KIND_PAD,
  KIND_SKIP,
  RECV_SLEEPERS,
  RESERVE,
  TAIL,
} from './layout.js';
import type { RingMemory } from './ring-memory.js';

export interface Producer {
  /** Claims room for a `len`-byte payload; returns its byte offset in the region, or -1 if full. */
  tryClaim(len: number): number;
  /** Publishes the claimed frame with `len` <= the claimed length bytes of payload. */
  commit(len: number): void;
  /** Gives the claim back without publishing a message. */
  abandon(): void;
}

/** Wakes a receiver after publishing, only if one sleeps. */
function signalData(m: RingMemory): void {
  if (Atomics.load(m.i32, RECV_SLEEPERS) !== 0) {
    Atomics.add(m.i32, DATA_SIGNAL, 1);
    m.waiter.notify(m.i32, DATA_SIGNAL, 1);
  }
}

export class SingleProducer implements Producer {
  /** A lower bound of `head`, re-read only when the ring looks full (saves a shared-line miss). */
  private cachedHead: number;
  private claimPos = 0;

  constructor(
    private readonly m: RingMemory,
    private readonly token: number,
  ) {
    this.cachedHead = Atomics.load(m.i32, HEAD);
  }

  tryClaim(len: number): number {
    const m = this.m;
    const frame = frameSize(len);
    const t = Atomics.load(m.i32, TAIL);
    const idx = t & m.mask;
    const room = m.capacity - idx;
    const need = frame <= room ? frame : room + frame;
    if (((t - this.cachedHead) >>> 0) + need > m.capacity) {
      // acquire: pairs with the consumer's store of head; the room it freed is ours to overwrite.
      this.cachedHead = Atomics.load(m.i32, HEAD);
      if (((t - this.cachedHead) >>> 0) + need > m.capacity) return -1;
    }
    let pos = t;
    if (frame > room) {
      // The frame does not fit before the wrap: pad to the end. Published with the frame itself.
      const w = m.word(idx);
      m.i32[w] = 1;
      m.i32[w + 1] = room | KIND_PAD;
      m.i32[w + 2] = this.token;
      m.i32[w + 3] = 0;
      pos = (t + room) | 0;
    }
    this.claimPos = pos;
    return m.word(pos & m.mask) * 4 + FRAME_HEADER;
  }

  commit(len: number): void {
    const m = this.m;
    const frame = frameSize(len);
    const w = m.word(this.claimPos & m.mask);
    m.i32[w] = len + 1;
    m.i32[w + 1] = frame | KIND_MSG;
    m.i32[w + 2] = this.token;
    m.i32[w + 3] = 0;
    // release: makes the frame (header and payload) visible to the consumer's load of tail.
    Atomics.store(m.i32, TAIL, (this.claimPos + frame) | 0);
    signalData(m);
  }

  abandon(): void {
    // Nothing was published: the tail did not move.
  }
}

export class MultiProducer implements Producer {
  private cachedHead: number;
  private claimPos = 0;
  private claimLen = 0;

  constructor(
    private readonly m: RingMemory,
    private readonly token: number,
  ) {
    this.cachedHead = Atomics.load(m.i32, HEAD);
  }

  tryClaim(len: number): number {
    const m = this.m;
    const frame = frameSize(len);
    let r: number;
    let room: number;
    let need: number;
    for (;;) {
      r = Atomics.load(m.i32, RESERVE);
      const idx = r & m.mask;
      room = m.capacity - idx;
      need = frame <= room ? frame : room + frame;
      if (((r - this.cachedHead) >>> 0) + need > m.capacity) {
        this.cachedHead = Atomics.load(m.i32, HEAD);
        if (((r - this.cachedHead) >>> 0) + need > m.capacity) return -1;
      }
      // The claim: from here [r, r + need) is ours alone.
      if (Atomics.compareExchange(m.i32, RESERVE, r, (r + need) | 0) === r) break;
    }
    let pos = r;
    if (frame > room) {
      const w = m.word(r & m.mask);
      m.i32[w + 1] = room | KIND_PAD;
      m.i32[w + 2] = this.token;
      m.i32[w + 3] = 0;
      // release: the padding is complete the moment it is committed.
      Atomics.store(m.i32, w, 1);
      pos = (r + room) | 0;
    }
    const w = m.word(pos & m.mask);
    m.i32[w + 1] = frame | KIND_MSG;
    m.i32[w + 2] = this.token;
    m.i32[w + 3] = 0;
    // "Being written": a consumer reaching this frame waits for the positive length.
    Atomics.store(m.i32, w, -(len + 1));
    this.claimPos = pos;
    this.claimLen = len;
    return w * 4 + FRAME_HEADER;
  }

  commit(len: number): void {
    const m = this.m;
    // release: publishes the payload to the consumer that loads this state word.
    Atomics.store(m.i32, m.word(this.claimPos & m.mask), len + 1);
    signalData(m);
  }

  abandon(): void {
    const m = this.m;
    const w = m.word(this.claimPos & m.mask);
    m.i32[w + 1] = frameSize(this.claimLen) | KIND_SKIP;
    Atomics.store(m.i32, w, 1);
    signalData(m);
  }
}
