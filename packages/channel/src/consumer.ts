/**
 * The consumer side of the ring: find the next committed frame, read it, release its room.
 *
 * Readiness depends on the producer side: with one producer a frame is ready once `tail` covers
 * it; with many, once its state word holds a positive length (and room is scrubbed to zero on
 * release, so a stale byte pattern can never pass for a committed header).
 *
 * 'one' (SingleConsumer): the only writer of `head`; releasing a frame is one store.
 * 'many' (MultiConsumer): consumers claim whole frames by CAS on `readClaim`, so each frame goes
 * to exactly one of them. Release must still happen in ring order (producers reuse room from
 * `head` on), but no consumer waits for another: each writes its frame's position into the
 * frame's mark (one int32 per 16-byte cell, beside the ring), then whoever finds the frame at
 * `head` marked takes it — a CAS of the mark from `head` to `head | 1` — scrubs it, moves `head`
 * past it, and goes on with the next one. A consumer that marks its frame after the advancer
 * looked at it sees the new `head` itself and advances (both sides are sequentially consistent).
 *
 * Why marks beside the ring and holding positions: an advancer may read `head`, stall, and CAS
 * long after that frame was released and its room reused. Positions never repeat (mod 2^32), and
 * an advanced mark is odd (positions are multiples of 16), so such a stale CAS fails; a CAS on a
 * word inside the ring could instead hit a new message's payload bytes that happen to match.
 */

import type { Identity } from '@shmkit/core';
import { HEAD, KIND_MASK, KIND_MSG, READ_CLAIM, RESERVE, TAIL } from './layout.js';
import { corrupt, type FrameInfo, type RingMemory } from './ring-memory.js';

export interface Consumer {
  /** Finds the next message; fills `out` and returns true, or returns false if none is ready. */
  tryPeek(out: FrameInfo): boolean;
  /** Releases the message found by the last successful tryPeek. */
  release(frame: FrameInfo): void;
}

/**
 * Loads the state word of the frame at `pos` and returns it if the frame is ready to read,
 * 0 if not (yet). `limit` receives how many bytes past `pos` are published or claimed.
 */
function readyState(m: RingMemory, pos: number, cachedTail: { value: number }): number {
  if (!m.manyProducers) {
    const seen = (cachedTail.value - pos) >>> 0;
    // Nothing left below the tail we saw, or (many consumers) others have read past it: reload.
    if (seen === 0 || seen > m.capacity) {
      // acquire: pairs with the producer's store of tail; the frames below it are complete.
      cachedTail.value = Atomics.load(m.i32, TAIL);
      if (cachedTail.value === pos) return 0;
    }
    const w0 = m.i32[m.word(pos & m.mask)]!;
    if (w0 <= 0) throw corrupt(`published frame with state ${w0} at offset ${pos & m.mask}`);
    return w0;
  }
  // Only a claimed position holds a header of this lap. With the ring full and every frame
  // claimed by consumers, `pos` (= reserve) has the same ring offset as `head`, whose frame from
  // the previous lap is still there: it must not be mistaken for a new one.
  if (Atomics.load(m.i32, RESERVE) === pos) return 0;
  // acquire: pairs with the producer's store of the positive length.
  const w0 = Atomics.load(m.i32, m.word(pos & m.mask));
  if (w0 > 0) return w0;
  if (w0 === 0 || (w0 < 0 && w0 >= -(m.maxMessage + 1))) return 0;
  throw corrupt(`frame state ${w0} at offset ${pos & m.mask}`);
}

function published(m: RingMemory, pos: number, cachedTail: { value: number }): number {
  const end = m.manyProducers ? Atomics.load(m.i32, RESERVE) : cachedTail.value;
  const n = (end - pos) >>> 0;
  if (n > m.capacity) throw corrupt(`${n} bytes published in a ring of ${m.capacity}`);
  return n;
}

export class SingleConsumer implements Consumer {
  private readonly tail: { value: number };

  constructor(private readonly m: RingMemory) {
    this.tail = { value: Atomics.load(m.i32, TAIL) };
  }

  tryPeek(out: FrameInfo): boolean {
    const m = this.m;
    for (;;) {
      const h = Atomics.load(m.i32, HEAD);
      const w0 = readyState(m, h, this.tail);
      if (w0 === 0) return false;
      m.frameAt(h, w0, published(m, h, this.tail), out);
      if (out.kind === KIND_MSG) return true;
      this.release(out); // padding or a skipped claim: nothing to deliver
    }
  }

  release(f: FrameInfo): void {
    const m = this.m;
    if (m.manyProducers) m.scrub(f.pos, f.size);
    // release: the room is free for producers once they load the new head.
    Atomics.store(m.i32, HEAD, (f.pos + f.size) | 0);
    m.signalSpace();
  }
}

export class MultiConsumer implements Consumer {
  private readonly tail: { value: number };

  /** `token`: this thread's owner token, stamped on each claimed frame (see releaseDeadClaim). */
  constructor(
    private readonly m: RingMemory,
    private readonly token: number,
  ) {
    this.tail = { value: Atomics.load(m.i32, TAIL) };
  }

  tryPeek(out: FrameInfo): boolean {
    const m = this.m;
    for (;;) {
      const c = Atomics.load(m.i32, READ_CLAIM);
      try {
        const w0 = readyState(m, c, this.tail);
        if (w0 === 0) return false;
        m.frameAt(c, w0, published(m, c, this.tail), out);
      } catch (e) {
        // Another consumer may have claimed, released and let producers reuse this frame since we
        // read readClaim: what we saw is only corrupt if readClaim still points at it.
        if (Atomics.load(m.i32, READ_CLAIM) !== c) continue;
        throw e;
      }
      // The claim: the frame at c is ours alone if readClaim still pointed at it.
      if (Atomics.compareExchange(m.i32, READ_CLAIM, c, (c + out.size) | 0) !== c) continue;
      // Say who holds it, so that survivors can release it if we die before we do.
      Atomics.store(m.i32, m.word(c & m.mask) + 3, this.token);
      if (out.kind === KIND_MSG) return true;
      this.release(out);
    }
  }

  release(f: FrameInfo): void {
    // release: our reads of the frame happen before an advancer lets producers reuse its room.
    Atomics.store(this.m.marks!, (f.pos & this.m.mask) >> 4, f.pos);
    advanceHead(this.m);
  }
}

/** Moves head past every released frame at its front (many consumers). */
function advanceHead(m: RingMemory): void {
  const marks = m.marks!;
  for (;;) {
    const h = Atomics.load(m.i32, HEAD);
    if (h === Atomics.load(m.i32, READ_CLAIM)) return;
    // Winning this CAS makes us the only one who may move head past h (head cannot pass an
    // unreleased frame, and nobody else can win it), so head is still h afterwards.
    if (Atomics.compareExchange(marks, (h & m.mask) >> 4, h, h | 1) !== h) return;
    const size = m.i32[m.word(h & m.mask) + 1]! & ~KIND_MASK;
    if (size <= 0 || (h & m.mask) + size > m.capacity) throw corrupt(`a released frame of ${size} bytes`);
    if (m.manyProducers) m.scrub(h, size);
    // release: room before the new head may now be overwritten by producers.
    Atomics.store(m.i32, HEAD, (h + size) | 0);
    m.signalSpace();
  }
}

/**
 * If the frame at head (many consumers) was claimed by a consumer that has died without releasing
 * it, releases it — its message is lost with the consumer — so that head, and the producers
 * waiting behind it, can move on. Returns true if it did. Called by waiters after a quiet
 * liveness slice; heap memory never reports a death.
 */
export function releaseDeadClaim(m: RingMemory, identity: Identity): boolean {
  if (!m.manyConsumers || identity.livenessSliceMs === Number.POSITIVE_INFINITY) return false;
  const h = Atomics.load(m.i32, HEAD);
  if (h === Atomics.load(m.i32, READ_CLAIM)) return false;
  if ((h & 15) !== 0) throw corrupt(`a head position ${h} that is not a multiple of 16`);
  const marks = m.marks!;
  const k = (h & m.mask) >> 4;
  const mark = Atomics.load(marks, k);
  if (mark !== h) {
    const token = Atomics.load(m.i32, m.word(h & m.mask) + 3);
    if (token === 0 || identity.isAlive(token)) return false;
    // The claimer is dead, so nobody else writes this mark; if head moved on meanwhile the mark
    // changed too and the CAS fails.
    if (Atomics.compareExchange(marks, k, mark, h) !== mark) return false;
  }
  advanceHead(m);
  return true;
}
