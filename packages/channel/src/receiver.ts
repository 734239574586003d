/**
 * The receiving half of a Channel object: taking messages (in place, or reassembled from
 * fragments), decoding them, batches, and the repairs a waiting receiver makes after a quiet
 * liveness slice. The ring algorithms are in consumer.ts.
 *
 * `step(fits)` finds the next message and leaves it in (buf, off, len): either in the ring itself
 * (buf = the ring's bytes; valid until releaseTaken) or, for a reassembled message, in its own
 * heap buffer. Messages a caller could not take (recvInto with a short target) wait in `ready`.
 */
import { type Identity, ShmkitError } from '@shmkit/core';
import { recoverClaimLock } from './claim-lock.js';
import { bytesCodec, type Codec } from './codec.js';
import {
  type Consumer,
  MultiConsumer,
  NONE,
  releaseDeadClaim,
  SingleConsumer,
  TAKEN,
  TOO_BIG,
} from './consumer.js';
import { CLOSED, HEAD, KIND_MSG, READ_CLAIM, RESERVE, TAIL } from './layout.js';
import { producersDead, skipDeadClaim } from './liveness.js';
import { Reassembly } from './reassembly.js';
import { type FrameInfo, newFrameInfo, type RingMemory } from './ring-memory.js';
import { closedError } from './sender.js';
import { NOT_YET } from './wake.js';

export { NONE, TAKEN, TOO_BIG };

export class Receiver<T> {
  private consumer: Consumer | undefined;
  private readonly frame: FrameInfo = newFrameInfo();
  private readonly parts = new Reassembly();
  /** Whole reassembled messages not yet taken (a recvInto target was too small). */
  private readonly ready: Uint8Array[] = [];
  /** Where the message found by the last step lies. */
  buf: Uint8Array;
  off = 0;
  len = 0;

  constructor(
    private readonly ring: RingMemory,
    private readonly codec: Codec<T>,
    private readonly identity: Identity,
  ) {
    this.buf = ring.u8;
  }

  private side(): Consumer {
    if (this.consumer === undefined) {
      this.consumer = this.ring.manyConsumers
        ? new MultiConsumer(this.ring, this.identity.self())
        : new SingleConsumer(this.ring);
    }
    return this.consumer;
  }

  /**
   * Finds the next whole message: TAKEN (its bytes in buf/off/len), NONE, or TOO_BIG when it is
   * longer than `fits` (then it stays queued and `len` says how long it is). `want`: how many
   * messages the caller may still take in this batch (many consumers claim that many at once).
   */
  step(fits: number, want = 1): number {
    if (this.ready.length !== 0) {
      const msg = this.ready[0]!;
      this.buf = msg;
      this.off = 0;
      this.len = msg.length;
      if (msg.length > fits) return TOO_BIG;
      this.ready.shift();
      return TAKEN;
    }
    const c = this.side();
    const f = this.frame;
    for (;;) {
      const r = c.next(f, fits, want);
      if (r === NONE) return NONE;
      if (f.kind === KIND_MSG) {
        this.parts.whole(f.producer);
        this.buf = this.ring.u8;
        this.off = f.offset;
        this.len = f.len;
        return r;
      }
      const done = this.parts.add(this.ring.u8, f);
      if (done === undefined) continue;
      this.buf = done;
      this.off = 0;
      this.len = done.length;
      if (done.length <= fits) return TAKEN;
      this.ready.push(done);
      return TOO_BIG;
    }
  }

  /** Gives back the room of every frame taken since the last release. */
  release(): void {
    this.consumer?.releaseTaken();
  }

  /** Decodes the message found by the last step (before release). */
  decode(): T {
    const c = this.codec;
    const buf = this.buf;
    if (buf !== this.ring.u8) {
      // A reassembled message already owns its memory: the bytes codec hands it over as is.
      return c === (bytesCodec as unknown as Codec<T>) ? (buf as unknown as T) : c.decode(buf);
    }
    const end = this.off + this.len;
    return c.decodeAt !== undefined ? c.decodeAt(buf, this.off, end) : c.decode(buf.subarray(this.off, end));
  }

  /** Takes and decodes one message if one is ready; NOT_YET otherwise. Releases its room. */
  tryTake(): T | typeof NOT_YET {
    if (this.step(Number.POSITIVE_INFINITY) === NONE) {
      this.release(); // padding and skipped frames passed on the way
      return NOT_YET;
    }
    try {
      return this.decode();
    } finally {
      // The message is consumed even if it cannot be decoded: a bad message must not wedge the ring.
      this.release();
    }
  }

  /**
   * An attempt for the waits of recv and friends: `take` once something is ready; after close,
   * what was sent before it is still delivered, then CLOSED.
   */
  attempt<R>(take: () => R | typeof NOT_YET): R | typeof NOT_YET {
    const r = take();
    if (r !== NOT_YET) return r;
    if (Atomics.load(this.ring.i32, CLOSED) !== 0) {
      // Closed: everything sent before close() is visible now; drain it, then report CLOSED.
      const again = take();
      if (again !== NOT_YET) return again;
      this.parts.clear(); // a message cut by close() is never delivered
      throw closedError();
    }
    return NOT_YET;
  }

  /**
   * Whether a frame is ready where this consumer reads next (a cheap probe for waitReadable; a
   * later poll may still find nothing: another consumer took it, or it was a fragment).
   */
  readable(): boolean {
    if (this.ready.length !== 0 || this.consumer?.pending()) return true;
    const m = this.ring;
    const pos = Atomics.load(m.i32, m.manyConsumers ? READ_CLAIM : HEAD);
    // acquire: pairs with the producers' publication of tail / reserve.
    const end = Atomics.load(m.i32, m.manyProducers ? RESERVE : TAIL);
    if (end === pos) return false;
    if (!m.manyProducers) return true;
    return Atomics.load(m.i32, m.word(pos & m.mask)) > 0;
  }

  /**
   * After a quiet liveness slice: repairs what dead producers or consumers left, drops dead
   * producers' partial messages, and reports PEER_DEAD once nothing is left to read and every
   * registered producer has died. Returns what `take` found, or NOT_YET.
   */
  repair<R>(take: () => R | typeof NOT_YET): R | typeof NOT_YET {
    const m = this.ring;
    const id = this.identity;
    if (recoverClaimLock(m, id)) return NOT_YET;
    if (skipDeadClaim(m, id)) return NOT_YET;
    if (releaseDeadClaim(m, id)) return NOT_YET;
    if (this.parts.size !== 0) this.parts.dropDead(id);
    if (!producersDead(m, id)) return NOT_YET;
    const r = take();
    if (r !== NOT_YET) return r;
    throw new ShmkitError(
      'PEER_DEAD',
      'every producer of this channel died without closing it, and it is drained',
    );
  }

  /** Forgets local state (partial messages); the ring is untouched. */
  dispose(): void {
    this.release();
    this.consumer?.dropPending();
    this.parts.clear();
    this.ready.length = 0;
  }
}

/** Below this many bytes a loop beats making a view for `set` (and allocates nothing). */
const LOOP_COPY = 64;

/** Copies `len` bytes of `src` from `off` to the start of `target` without `slice` on shared memory. */
export function copyOut(src: Uint8Array, off: number, len: number, target: Uint8Array): void {
  if (len <= LOOP_COPY) {
    for (let i = 0; i < len; i++) target[i] = src[off + i]!;
  } else {
    target.set(src.subarray(off, off + len));
  }
}
