/**
 * The producer side of the ring: claim room for one or more frames, fill them, publish them.
 *
 * 'one' (SingleProducer): the only writer of `tail`. Frames are written whole (header and
 * payload) and published by one store of the new tail, however many there are: no CAS, and a
 * consumer never looks at a frame before the tail covers it.
 *
 * 'many' (MultiProducer): producers claim room under the claim lock (claim-lock.ts: the claimer's
 * death at any point is recoverable), stamp each frame "being written" (state -(len + 1)), copy
 * outside the lock, then publish each frame by storing its positive length.
 *
 * Both take a batch (an Outbox): one claim for many frames, one index publication, one wake.
 */
import { FAILPOINT, failpoint, type Identity } from '@shmkit/core';
import { lockClaim, unlockClaim } from './claim-lock.js';
import {
  CLAIM_END,
  DATA_SIGNAL,
  FRAME_HEADER,
  frameSize,
  HEAD,
  KIND_PAD,
  KIND_SKIP,
  RECV_SLEEPERS,
  RESERVE,
  TAIL,
} from './layout.js';
import type { Outbox } from './outbox.js';
import type { RingMemory } from './ring-memory.js';
import { wake } from './wake.js';

export interface Producer {
  /**
   * Claims room for frames `from`.. of `b` (as many as fit, in order); sets their `pos` and `off`.
   * Returns how many it claimed: 0 when not even the first fits now.
   */
  tryClaim(b: Outbox, from: number, to: number): number;
  /**
   * Publishes frames [from, from + k) of the last claim, each with `b.used[i]` payload bytes. A
   * claim may be published in consecutive parts, in order (sendMany does, for large messages).
   */
  publish(b: Outbox, from: number, k: number): void;
  /** Gives the claimed frames back without publishing a message. */
  abandon(b: Outbox, from: number, k: number): void;
}

/** Wakes receivers after publishing `k` frames, only if one sleeps. */
function signalData(m: RingMemory, k: number): void {
  wake(m.i32, m.waiter, DATA_SIGNAL, RECV_SLEEPERS, k === 1 || !m.manyConsumers ? 1 : k);
}

export class SingleProducer implements Producer {
  /** A lower bound of `head`, re-read only when the ring looks full (saves a shared-line miss). */
  private cachedHead: number;

  constructor(
    private readonly m: RingMemory,
    private readonly token: number,
  ) {
    this.cachedHead = Atomics.load(m.i32, HEAD);
  }

  tryClaim(b: Outbox, from: number, to: number): number {
    const m = this.m;
    // Another Channel object of this thread may have published since (one producer at a time).
    let pos = Atomics.load(m.i32, TAIL);
    let k = 0;
    for (let i = from; i < to; i++) {
      const frame = frameSize(b.len[i]!);
      const idx = pos & m.mask;
      const room = m.capacity - idx;
      const need = frame <= room ? frame : room + frame;
      if (((pos - this.cachedHead) >>> 0) + need > m.capacity) {
        // acquire: pairs with the consumer's store of head; the room it freed is ours to overwrite.
        this.cachedHead = Atomics.load(m.i32, HEAD);
        if (((pos - this.cachedHead) >>> 0) + need > m.capacity) break;
      }
      if (frame > room) {
        // The frame does not fit before the wrap: pad to the end. Published with the frame.
        const w = m.word(idx);
        m.i32[w] = 1;
        m.i32[w + 1] = room | KIND_PAD;
        m.i32[w + 2] = this.token;
        m.i32[w + 3] = 0;
        pos = (pos + room) | 0;
      }
      b.pos[i] = pos;
      b.off[i] = m.word(pos & m.mask) * 4 + FRAME_HEADER;
      pos = (pos + frame) | 0;
      k++;
    }
    if (k > 0 && FAILPOINT !== undefined) failpoint('channel.after-claim');
    return k;
  }

  publish(b: Outbox, from: number, k: number): void {
    const m = this.m;
    for (let i = from; i < from + k; i++) {
      const w = m.word(b.pos[i]! & m.mask);
      m.i32[w] = b.used[i]! + 1;
      m.i32[w + 1] = frameSize(b.len[i]!) | b.kind[i]!;
      m.i32[w + 2] = this.token;
      m.i32[w + 3] = b.w3[i]!;
    }
    if (FAILPOINT !== undefined) failpoint('channel.before-commit');
    // Publishes up to the end of frame from + k - 1 (a partial publish of a claim gives the rest back).
    const last = from + k - 1;
    const end = (b.pos[last]! + frameSize(b.len[last]!)) | 0;
    // release: makes the frames (headers and payloads) visible to the consumer's load of tail.
    Atomics.store(m.i32, TAIL, end);
    signalData(m, k);
  }

  abandon(): void {
    // Nothing was published: the tail did not move, and the next claim starts from it again.
  }
}

export class MultiProducer implements Producer {
  private cachedHead: number;
  /** Whether the last claim failed because another producer held the claim lock too long. */
  lockBusy = false;

  constructor(
    private readonly m: RingMemory,
    private readonly identity: Identity,
    private readonly token: number,
  ) {
    this.cachedHead = Atomics.load(m.i32, HEAD);
  }

  tryClaim(b: Outbox, from: number, to: number): number {
    const m = this.m;
    const i32 = m.i32;
    // Look before locking: a full ring is the common reason a claim fails, and finding it out
    // under the lock makes every waiting producer take the lock's line again and again. Reserve
    // only grows, so a ring full at the reserve read here is full at the holder's reserve too.
    if (this.wontFit(Atomics.load(i32, RESERVE), b.len[from]!)) {
      this.lockBusy = false; // a consumer's release wakes us
      return 0;
    }
    this.lockBusy = !lockClaim(m, this.identity, this.token, !this.lockBusy);
    if (this.lockBusy) return 0;
    try {
      // We hold the lock: nobody else writes reserve, and its room is ours to plan.
      const r = Atomics.load(i32, RESERVE);
      let pos = r;
      let k = 0;
      for (let i = from; i < to; i++) {
        const frame = frameSize(b.len[i]!);
        const room = m.capacity - (pos & m.mask);
        if (this.wontFit(pos, b.len[i]!)) break;
        if (frame > room) pos = (pos + room) | 0;
        b.pos[i] = pos;
        pos = (pos + frame) | 0;
        k++;
      }
      if (k === 0) return 0;
      // Our intent, before any header: a survivor of our death covers [reserve, claimEnd).
      Atomics.store(i32, CLAIM_END, pos);
      if (FAILPOINT !== undefined) failpoint('channel.after-claim');
      let at = r;
      for (let i = from; i < from + k; i++) {
        const p = b.pos[i]!;
        if (p !== at) {
          // The gap before this frame is the end of the ring: a committed padding frame.
          const w = m.word(at & m.mask);
          i32[w + 1] = (p - at) | 0 | KIND_PAD;
          i32[w + 2] = this.token;
          i32[w + 3] = 0;
          Atomics.store(i32, w, 1);
        }
        const w = m.word(p & m.mask);
        i32[w + 1] = frameSize(b.len[i]!) | b.kind[i]!;
        i32[w + 2] = this.token;
        i32[w + 3] = b.w3[i]!;
        // "Being written": a consumer reaching this frame waits for the positive length.
        Atomics.store(i32, w, -(b.len[i]! + 1));
        b.off[i] = w * 4 + FRAME_HEADER;
        at = (p + frameSize(b.len[i]!)) | 0;
      }
      // release: consumers that load reserve see every header below it.
      Atomics.store(i32, RESERVE, pos);
      return k;
    } finally {
      unlockClaim(m);
    }
  }

  /** Whether a frame of `len` bytes after position `pos` finds no room (head re-read if needed). */
  private wontFit(pos: number, len: number): boolean {
    const m = this.m;
    const frame = frameSize(len);
    const room = m.capacity - (pos & m.mask);
    const need = frame <= room ? frame : room + frame;
    if (((pos - this.cachedHead) >>> 0) + need <= m.capacity) return false;
    // acquire: pairs with the consumers' store of head.
    this.cachedHead = Atomics.load(m.i32, HEAD);
    return ((pos - this.cachedHead) >>> 0) + need > m.capacity;
  }

  publish(b: Outbox, from: number, k: number): void {
    const m = this.m;
    if (FAILPOINT !== undefined) failpoint('channel.before-commit');
    for (let i = from; i < from + k; i++) {
      // release: publishes the frame's payload to the consumer that loads this state word.
      Atomics.store(m.i32, m.word(b.pos[i]! & m.mask), b.used[i]! + 1);
    }
    signalData(m, k);
  }

  abandon(b: Outbox, from: number, k: number): void {
    const m = this.m;
    for (let i = from; i < from + k; i++) {
      const w = m.word(b.pos[i]! & m.mask);
      m.i32[w + 1] = frameSize(b.len[i]!) | KIND_SKIP;
      // release: the frame is complete (as nothing) for the consumer that reaches it.
      Atomics.store(m.i32, w, 1);
    }
    signalData(m, k);
  }
}
