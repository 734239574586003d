/**
 * The consumer side of the ring: find the next committed frame, read it, release its room.
 *
 * A consumer takes frames one by one with `next` and gives their room back with `releaseTaken`,
 * once per batch (recv: once per message; recvMany/poll: once per call), or earlier, inside
 * `next`, once the frames taken since the last release hold RELEASE_BYTES: a batch of large
 * messages then frees room message by message and the producer copies the next one while this
 * side reads (holding 1 MiB messages until the end of a batch made the two sides take turns).
 * A frame handed out by `next` is in use until the next call of `next` or `releaseTaken`.
 * Padding and skipped frames are taken and released on the way, never returned.
 *
 * Readiness depends on the producer side: with one producer a frame is ready once `tail` covers
 * it; with many, once it lies below `reserve` (so its header is whole, see claim-lock.ts) and its
 * state word holds a positive length.
 *
 * 'one' (SingleConsumer): the only writer of `head`; a batch is released by one store.
 * 'many' (MultiConsumer): consumers claim frames by CAS on `readClaim`, so each frame goes to
 * exactly one of them. A batch (recvMany, poll) claims a run of consecutive ready frames — up to
 * the messages it may still take — with one CAS, then stamps its token on each frame of the run;
 * one-message receives claim a run ending at one message. Frames of a run not handed out yet (a
 * throwing poll handler) stay with that consumer for its next call. Release must still happen in ring order (producers reuse room from
 * `head` on), but no consumer waits for another: each writes its frame's position into the
 * frame's mark (one int32 per 16-byte cell, beside the ring), then whoever finds the frame at
 * `head` marked takes it — a CAS of the mark from `head` to `head | 1` — moves `head` past it,
 * and goes on with the next one. A consumer that marks its frame after the advancer looked at it
 * sees the new `head` itself and advances (both sides are sequentially consistent). An advancer
 * that takes several marks in a row stores `head` once for them, then looks at the mark at the
 * new head once more, so that argument still holds for the last store.
 *
 * A consumer that dies: survivors release every frame at `head` whose stamped claimer is dead
 * (releaseDeadClaim), so a dead consumer's whole run is given back at once; its messages are lost
 * with it. A consumer killed between its CAS and the stamps (a few stores) leaves frames whose
 * claimer nobody can name: head stops there, and survivors wait until their timeout.
 *
 * Why marks beside the ring and holding positions: an advancer may read `head`, stall, and CAS
 * long after that frame was released and its room reused. Positions never repeat (mod 2^32), and
 * an advanced mark is odd (positions are multiples of 16), so such a stale CAS fails; a CAS on a
 * word inside the ring could instead hit a new message's payload bytes that happen to match.
 */

import type { Identity } from '@shmkit/core';
import { HEAD, KIND_MASK, KIND_MSG, KIND_PAD, KIND_SKIP, READ_CLAIM, RESERVE, TAIL } from './layout.js';
import { MAX_BATCH } from './outbox.js';
import { corrupt, type FrameInfo, type RingMemory } from './ring-memory.js';

/** Bytes of taken frames after which `next` releases them before taking more (see above). */
const RELEASE_BYTES = 64 << 10;

/** When a consumer of ring `m` releases in the middle of a batch. */
function releaseAt(m: RingMemory): number {
  return Math.min(RELEASE_BYTES, m.capacity >> 2);
}

/** Results of Consumer.next. */
export const NONE = 0;
export const TAKEN = 1;
/** A whole message longer than the caller can take: left in the ring, `out` describes it. */
export const TOO_BIG = 2;

export interface Consumer {
  /**
   * Takes the next message frame (MSG or a fragment) into `out`: TAKEN; NONE if none is ready;
   * TOO_BIG (not taken) for a MSG longer than `fits` bytes.
   */
  next(out: FrameInfo, fits: number, want: number): number;
  /** Gives back the room of every frame taken since the last release; wakes senders once. */
  releaseTaken(): void;
  /** Whether frames claimed by this consumer wait to be handed out (many consumers). */
  pending(): boolean;
  /** Releases frames claimed and not handed out: their messages are dropped (disposal). */
  dropPending(): void;
}

/** Where the end of what producers published can be read, cached between reads. */
class PublishedEnd {
  value: number;
  constructor(private readonly m: RingMemory) {
    this.value = this.load();
  }
  load(): number {
    // acquire: pairs with the producer's release store of tail / reserve: headers below are whole.
    return Atomics.load(this.m.i32, this.m.manyProducers ? RESERVE : TAIL);
  }
}

/**
 * Returns the state word of the frame at `pos` if it is ready to read, 0 if not (yet); `end`
 * holds how far producers have published (one producer) or claimed (many) afterwards.
 */
function readyState(m: RingMemory, pos: number, end: PublishedEnd): number {
  const seen = (end.value - pos) >>> 0;
  // Nothing left below the end we saw, or (many consumers) others have read past it: reload.
  if (seen === 0 || seen > m.capacity) {
    end.value = end.load();
    if (end.value === pos) return 0;
  }
  const w = m.word(pos & m.mask);
  if (!m.manyProducers) {
    const w0 = m.i32[w]!;
    if (w0 <= 0) throw corrupt(`published frame with state ${w0} at offset ${pos & m.mask}`);
    return w0;
  }
  // acquire: pairs with the producer's store of the positive length (publishes the payload).
  const w0 = Atomics.load(m.i32, w);
  if (w0 > 0) return w0;
  if (w0 < 0 && w0 >= -(m.maxFrame + 1)) return 0; // claimed, being written
  throw corrupt(`frame state ${w0} at offset ${pos & m.mask}`);
}

function published(m: RingMemory, pos: number, end: PublishedEnd): number {
  const n = (end.value - pos) >>> 0;
  if (n > m.capacity) throw corrupt(`${n} bytes published in a ring of ${m.capacity}`);
  return n;
}

export class SingleConsumer implements Consumer {
  private readonly end: PublishedEnd;
  /** Head as last stored, and the end of the frames taken since. */
  private head: number;
  private cursor: number;
  private readonly releaseAt: number;

  constructor(private readonly m: RingMemory) {
    this.end = new PublishedEnd(m);
    this.head = this.cursor = Atomics.load(m.i32, HEAD);
    this.releaseAt = releaseAt(m);
  }

  next(out: FrameInfo, fits: number, _want: number): number {
    const m = this.m;
    // Nothing taken: start from head (another Channel object of this thread may have read).
    if (this.cursor === this.head) this.head = this.cursor = Atomics.load(m.i32, HEAD);
    else if ((this.cursor - this.head) >>> 0 >= this.releaseAt) this.releaseTaken();
    for (;;) {
      const pos = this.cursor;
      const w0 = readyState(m, pos, this.end);
      if (w0 === 0) return NONE;
      m.frameAt(pos, w0, published(m, pos, this.end), out);
      if (out.kind === KIND_PAD || out.kind === KIND_SKIP) {
        this.cursor = (pos + out.size) | 0;
        continue;
      }
      if (out.kind === KIND_MSG && out.len > fits) return TOO_BIG;
      this.cursor = (pos + out.size) | 0;
      return TAKEN;
    }
  }

  releaseTaken(): void {
    if (this.cursor === this.head) return;
    this.head = this.cursor;
    // release: the room before the new head is free for producers once they load it.
    Atomics.store(this.m.i32, HEAD, this.cursor);
    this.m.signalSpace();
  }

  pending(): boolean {
    return false;
  }

  dropPending(): void {}
}

/** What MultiConsumer.claimRun returns besides NONE and TOO_BIG: a run is ours, or try again. */
const CLAIMED = 3;
const RETRY = 4;

export class MultiConsumer implements Consumer {
  private readonly end: PublishedEnd;
  /** Positions of the frames taken and not yet released. */
  private readonly taken = new Int32Array(MAX_BATCH);
  private count = 0;
  /** Bytes of the frames in `taken`, and when to release them early (see the header). */
  private takenBytes = 0;
  private readonly releaseAt: number;
  /** The frames claimed by our last CAS and not handed out yet: [runPos, runEnd). */
  private runPos = 0;
  private runEnd = 0;

  /** `token`: this thread's owner token, stamped on each claimed frame (see releaseDeadClaim). */
  constructor(
    private readonly m: RingMemory,
    private readonly token: number,
  ) {
    this.end = new PublishedEnd(m);
    this.releaseAt = releaseAt(m);
  }

  next(out: FrameInfo, fits: number, want: number): number {
    const m = this.m;
    for (;;) {
      if (this.count === MAX_BATCH || this.takenBytes >= this.releaseAt) this.releaseTaken();
      const pos = this.runPos;
      if (pos !== this.runEnd) {
        // Ours since the claim: nobody else reads, releases or rewrites this frame until we do.
        const w0 = m.i32[m.word(pos & m.mask)]!;
        if (w0 <= 0) throw corrupt(`claimed frame with state ${w0} at offset ${pos & m.mask}`);
        m.frameAt(pos, w0, (this.runEnd - pos) >>> 0, out);
        if (out.kind === KIND_MSG && out.len > fits) return TOO_BIG;
        this.runPos = (pos + out.size) | 0;
        this.taken[this.count++] = pos;
        this.takenBytes += out.size;
        if (out.kind === KIND_MSG) return TAKEN;
        continue;
      }
      const r = this.claimRun(out, fits, want);
      if (r === NONE || r === TOO_BIG || r === TAKEN) return r;
    }
  }

  /**
   * Claims the ready frames from readClaim on, up to `want` messages (padding and skipped frames
   * ride along), with one CAS. CLAIMED (a run to hand out), TAKEN (a run of one message, taken:
   * `out` describes it), RETRY (another consumer moved readClaim, or a lone padding frame was
   * taken), NONE, or TOO_BIG (the first message is longer than `fits`: left unclaimed).
   */
  private claimRun(out: FrameInfo, fits: number, want: number): number {
    const m = this.m;
    const c = Atomics.load(m.i32, READ_CLAIM);
    let pos = c;
    let msgs = 0;
    try {
      for (let frames = 0; msgs < want && frames < MAX_BATCH; frames++) {
        const w0 = readyState(m, pos, this.end);
        if (w0 === 0) break;
        m.frameAt(pos, w0, published(m, pos, this.end), out);
        if (out.kind === KIND_MSG) {
          if (out.len > fits) {
            if (pos !== c) break; // claim what comes before it; the next call reports it
            return Atomics.load(m.i32, READ_CLAIM) === c ? TOO_BIG : RETRY;
          }
          msgs++;
        }
        pos = (pos + out.size) | 0;
      }
    } catch (e) {
      // Another consumer may have claimed, released and let producers reuse these frames since we
      // read readClaim: what we saw is only corrupt if readClaim still points at it.
      if (Atomics.load(m.i32, READ_CLAIM) !== c) return RETRY;
      if (pos === c) throw e;
      // A later frame is corrupt: claim the whole ones before it; the next claim reports it.
    }
    if (pos === c) return NONE;
    // The claim: frames [c, pos) are ours alone if readClaim still pointed at c.
    if (Atomics.compareExchange(m.i32, READ_CLAIM, c, pos) !== c) return RETRY;
    if (out.pos === c) {
      // One frame (the common case of recv), still described by `out`: hand it out at once.
      // Say who holds it, so that survivors can release it if we die before we do.
      Atomics.store(m.i32, m.word(c & m.mask) + 3, this.token);
      this.taken[this.count++] = c;
      this.takenBytes += out.size;
      this.runPos = this.runEnd = pos;
      return out.kind === KIND_MSG ? TAKEN : RETRY;
    }
    // Say who holds them, so that survivors can release them if we die before we do.
    for (let p = c; p !== pos; ) {
      const w = m.word(p & m.mask);
      Atomics.store(m.i32, w + 3, this.token);
      const size = m.i32[w + 1]! & ~KIND_MASK;
      if (size < 16 || size > (pos - p) >>> 0) throw corrupt(`a claimed frame of ${size} bytes`);
      p = (p + size) | 0;
    }
    this.runPos = c;
    this.runEnd = pos;
    return CLAIMED;
  }

  releaseTaken(): void {
    const m = this.m;
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    this.takenBytes = 0;
    for (let i = 0; i < n; i++) {
      const pos = this.taken[i]!;
      // release: our reads of the frame happen before an advancer lets producers reuse its room.
      Atomics.store(m.marks!, (pos & m.mask) >> 4, pos);
    }
    advanceHead(m);
  }

  pending(): boolean {
    return this.runPos !== this.runEnd;
  }

  dropPending(): void {
    const m = this.m;
    while (this.runPos !== this.runEnd) {
      if (this.count === MAX_BATCH) this.releaseTaken();
      const pos = this.runPos;
      const size = m.i32[m.word(pos & m.mask) + 1]! & ~KIND_MASK;
      if (size < 16 || size > (this.runEnd - pos) >>> 0) throw corrupt(`a claimed frame of ${size} bytes`);
      this.taken[this.count++] = pos;
      this.runPos = (pos + size) | 0;
    }
    this.releaseTaken();
  }
}

/** Moves head past every released frame at its front (many consumers); wakes senders once. */
function advanceHead(m: RingMemory): void {
  const marks = m.marks!;
  let moved = false;
  for (;;) {
    const h0 = Atomics.load(m.i32, HEAD);
    const claimed = Atomics.load(m.i32, READ_CLAIM);
    let h = h0;
    // Winning the CAS of the mark at h makes us the only one who may move head past h (head cannot
    // pass an unreleased frame, and nobody else can win it: others try the mark at the head they
    // loaded, h0 at most, which we made odd), so we may go on to the next mark before storing head.
    while (h !== claimed && Atomics.compareExchange(marks, (h & m.mask) >> 4, h, h | 1) === h) {
      const size = m.i32[m.word(h & m.mask) + 1]! & ~KIND_MASK;
      if (size <= 0 || (size & 15) !== 0 || (h & m.mask) + size > m.capacity)
        throw corrupt(`a released frame of ${size} bytes`);
      h = (h + size) | 0;
    }
    if (h === h0) break;
    // release: room before the new head may now be overwritten by producers. Then look once more:
    // a consumer whose mark we missed either is seen by that look or sees this head.
    Atomics.store(m.i32, HEAD, h);
    moved = true;
  }
  if (moved) m.signalSpace();
}

/**
 * Releases the frames at head (many consumers) claimed by consumers that died without releasing
 * them — their messages are lost with them — so that head, and the producers waiting behind it,
 * can move on: a dead consumer's whole run at once. Returns true if it released any. Called by
 * waiters after a quiet liveness slice; heap memory never reports a death.
 */
export function releaseDeadClaim(m: RingMemory, identity: Identity): boolean {
  if (!m.manyConsumers || identity.livenessSliceMs === Number.POSITIVE_INFINITY) return false;
  const marks = m.marks!;
  let released = false;
  /** The last claimer found dead (a run carries one token: one liveness check for all of it). */
  let dead = 0;
  // Each round moves head forward, so this ends within capacity / 16 rounds.
  for (let h = Atomics.load(m.i32, HEAD); h !== Atomics.load(m.i32, READ_CLAIM); ) {
    if ((h & 15) !== 0) throw corrupt(`a head position ${h} that is not a multiple of 16`);
    const k = (h & m.mask) >> 4;
    const mark = Atomics.load(marks, k);
    if (mark !== h) {
      const token = Atomics.load(m.i32, m.word(h & m.mask) + 3);
      if (token === 0) break; // claimed, not stamped yet: its claimer is between two stores
      if (token !== dead) {
        if (identity.isAlive(token)) break;
        dead = token;
      }
      // The claimer is dead, so nobody else writes this mark; if head moved on meanwhile the mark
      // changed too and the CAS fails.
      if (Atomics.compareExchange(marks, k, mark, h) !== mark) break;
    }
    advanceHead(m);
    released = true;
    const next = Atomics.load(m.i32, HEAD);
    if (next === h) break;
    h = next;
  }
  return released;
}
