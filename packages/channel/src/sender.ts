/**
 * The sending half of a Channel object: encoding, one-frame and fragmented sends, batches.
 * Channel validates options and drives the waits; the ring algorithms are in producer.ts.
 *
 * A message up to `maxFrame` bytes travels in one MSG frame. A larger one (up to maxMessage) is
 * split into FIRST, MIDDLE..., LAST frames (reassembly.ts), claimed as many at a time as the ring
 * has room for, so a message far larger than the ring streams through it. Many-consumer channels
 * never fragment (maxMessage = maxFrame there): consumers would each get pieces.
 */
import { type Deadline, type Identity, invalidArgument, ShmkitError, type WaitSteps } from '@shmkit/core';
import { recoverClaimLock } from './claim-lock.js';
import type { Codec } from './codec.js';
import { releaseDeadClaim } from './consumer.js';
import { CLOSED, frameSize, KIND_FIRST, KIND_LAST, KIND_MIDDLE, KIND_MSG } from './layout.js';
import { registerProducer, unregisterProducer } from './liveness.js';
import { MAX_BATCH, Outbox } from './outbox.js';
import { MultiProducer, type Producer, SingleProducer } from './producer.js';
import type { RingMemory } from './ring-memory.js';
import { NOT_YET, SpinPolicy, spinThenSleep, type WaitContext } from './wake.js';

/** Bytes a batch copies into the ring before it publishes them (see manySteps). */
const PUBLISH_BYTES = 64 << 10;

export class Sender<T> {
  private producer: Producer | undefined;
  private readonly out = new Outbox();
  readonly policy = new SpinPolicy();
  /** Room to claim for a value the codec encodes straight into the ring (see prepare). */
  directLength = 0;
  private readonly parts: Uint8Array[] = [];
  private readonly onSlice = (): typeof NOT_YET => {
    releaseDeadClaim(this.ring, this.identity);
    recoverClaimLock(this.ring, this.identity);
    return NOT_YET;
  };

  private readonly ctx: WaitContext;

  constructor(
    private readonly ring: RingMemory,
    private readonly codec: Codec<T>,
    private readonly identity: Identity,
    ctx: WaitContext,
  ) {
    const sender = this;
    // A claim that failed on a busy claim lock has no consumer to wake it: sleep in short slices.
    this.ctx = {
      ...ctx,
      get sliceMs(): number {
        const p = sender.producer;
        return p instanceof MultiProducer && p.lockBusy ? 1 : ctx.sliceMs;
      },
    };
  }

  private side(): Producer {
    if (this.producer === undefined) {
      registerProducer(this.ring, this.identity);
      const token = this.identity.self();
      this.producer = this.ring.manyProducers
        ? new MultiProducer(this.ring, this.identity, token)
        : new SingleProducer(this.ring, token);
    }
    return this.producer;
  }

  /** Stops counting this object's thread as a producer (a clean exit is not a crash). */
  unregister(): void {
    if (this.producer === undefined) return;
    unregisterProducer(this.ring, this.identity.self());
    this.producer = undefined;
  }

  /**
   * Encodes `value`. Returns the bytes to copy, or undefined when the codec will encode straight
   * into the ring; then `directLength` holds the room to claim. TOO_LARGE past maxMessage.
   */
  prepare(value: T): Uint8Array | undefined {
    const c = this.codec;
    if (c.encodeInto !== undefined && c.maxEncodedSize !== undefined) {
      const max = c.maxEncodedSize(value);
      if (max >= 0 && max <= this.ring.maxFrame) {
        this.directLength = max;
        return undefined;
      }
    }
    const bytes = c.encode(value);
    if (!(bytes instanceof Uint8Array))
      invalidArgument(`codec ${c.name} returned ${typeof bytes}, not a Uint8Array`);
    if (bytes.length > this.ring.maxMessage) throw tooLarge(bytes.length, this.ring);
    return bytes;
  }

  /** Whether `bytes` (from prepare) needs more than one frame. */
  fragmented(bytes: Uint8Array | undefined): boolean {
    return bytes !== undefined && bytes.length > this.ring.maxFrame;
  }

  /**
   * Sends a one-frame message if the ring has room now: true, or false (nothing sent).
   * CLOSED after close().
   */
  tryOne(value: T, bytes: Uint8Array | undefined): boolean {
    this.checkOpen();
    const p = this.side();
    const b = this.out;
    const len = bytes === undefined ? this.directLength : bytes.length;
    b.set(0, len, KIND_MSG, 0);
    if (p.tryClaim(b, 0, 1) === 0) return false;
    const off = b.off[0]!;
    if (bytes === undefined) {
      try {
        b.used[0] = this.codec.encodeInto!(value, this.ring.u8.subarray(off, off + len));
      } catch (e) {
        p.abandon(b, 0, 1);
        throw e;
      }
    } else {
      this.ring.u8.set(bytes, off);
    }
    p.publish(b, 0, 1);
    return true;
  }

  /** Blocking/async form of tryOne. */
  oneSteps(value: T, bytes: Uint8Array | undefined, deadline: Deadline): WaitSteps<void> {
    return spinThenSleep(
      this.ctx,
      () => (this.tryOne(value, bytes) ? undefined : NOT_YET),
      deadline,
      this.policy,
      this.onSlice,
    );
  }

  /**
   * Sends a message larger than one frame only if all of it fits now (false otherwise). Its
   * frames must fit the ring at once: TOO_LARGE past that (send waits fragment by fragment).
   */
  tryFragmented(bytes: Uint8Array): boolean {
    this.checkOpen();
    const m = this.ring;
    const n = Math.ceil(bytes.length / m.maxFrame);
    if (n > MAX_BATCH || n * frameSize(m.maxFrame) > m.capacity) {
      throw new ShmkitError(
        'TOO_LARGE',
        `a message of ${bytes.length} bytes cannot be sent at once in a ring of ${m.capacity} bytes: use send or sendAsync`,
      );
    }
    const p = this.side();
    this.planFragments(bytes.length, 0, n);
    const k = p.tryClaim(this.out, 0, n);
    if (k < n) {
      if (k > 0) p.abandon(this.out, 0, k);
      return false;
    }
    this.copyFragments(bytes, 0, n);
    p.publish(this.out, 0, n);
    return true;
  }

  /** Sends a message larger than one frame, waiting for room fragment by fragment. */
  *fragmentSteps(bytes: Uint8Array, deadline: Deadline): WaitSteps<void> {
    const m = this.ring;
    const p = this.side();
    const b = this.out;
    const frames = Math.ceil(bytes.length / m.maxFrame);
    let next = 0;
    while (next < frames) {
      const rows = Math.min(MAX_BATCH, frames - next);
      this.planFragments(bytes.length, next, rows);
      const k = yield* spinThenSleep(
        this.ctx,
        () => {
          this.checkOpen();
          const got = p.tryClaim(b, 0, rows);
          return got > 0 ? got : NOT_YET;
        },
        deadline,
        this.policy,
        this.onSlice,
      );
      this.copyFragments(bytes, next, k);
      p.publish(b, 0, k);
      next += k;
    }
  }

  /** Fills rows 0..rows of the outbox with fragments first..first+rows of a `total`-byte message. */
  private planFragments(total: number, first: number, rows: number): void {
    const max = this.ring.maxFrame;
    const last = Math.ceil(total / max) - 1;
    for (let r = 0; r < rows; r++) {
      const f = first + r;
      const len = f === last ? total - f * max : max;
      this.out.set(r, len, f === 0 ? KIND_FIRST : f === last ? KIND_LAST : KIND_MIDDLE, f === 0 ? total : 0);
    }
  }

  private copyFragments(bytes: Uint8Array, first: number, k: number): void {
    const max = this.ring.maxFrame;
    const b = this.out;
    for (let r = 0; r < k; r++) {
      const start = (first + r) * max;
      this.ring.u8.set(bytes.subarray(start, start + b.len[r]!), b.off[r]!);
    }
  }

  /**
   * Sends values[from..] as one-frame messages in batches of up to MAX_BATCH frames (one claim,
   * one index publication and at most one wake per batch). Stops at the first value that needs
   * fragments, or when `wait` is false and the ring is full. Returns the index it stopped at.
   */
  *manySteps(values: readonly T[], from: number, deadline: Deadline | undefined): WaitSteps<number> {
    const m = this.ring;
    const p = this.side();
    const b = this.out;
    const parts = this.parts;
    let i = from;
    try {
      while (i < values.length) {
        // Encode a group: every payload is copied into the ring before the codec runs again for
        // codecs that may reuse their output buffer (all but bytes), so keep copies of those.
        parts.length = 0;
        const reuse = this.codec.name !== 'bytes';
        while (i + parts.length < values.length && parts.length < MAX_BATCH) {
          let bytes = this.codec.encode(values[i + parts.length]!);
          if (!(bytes instanceof Uint8Array))
            invalidArgument(`codec ${this.codec.name} returned ${typeof bytes}, not a Uint8Array`);
          if (bytes.length > m.maxFrame) {
            if (bytes.length > m.maxMessage) throw tooLarge(bytes.length, m);
            break;
          }
          if (reuse) bytes = bytes.slice();
          b.set(parts.length, bytes.length, KIND_MSG, 0);
          parts.push(bytes);
        }
        if (parts.length === 0) return i;
        let done = 0;
        while (done < parts.length) {
          this.checkOpen();
          let k = p.tryClaim(b, done, parts.length);
          if (k === 0) {
            if (deadline === undefined) return i;
            k = yield* spinThenSleep(
              this.ctx,
              () => {
                this.checkOpen();
                const got = p.tryClaim(b, done, parts.length);
                return got > 0 ? got : NOT_YET;
              },
              deadline,
              this.policy,
              this.onSlice,
            );
          }
          // Publish every PUBLISH_BYTES copied, not only at the end: with large messages the
          // consumer then reads one while we copy the next (one publication per batch of small ones).
          let from = done;
          let bytes = 0;
          for (let r = done; r < done + k; r++) {
            m.u8.set(parts[r]!, b.off[r]!);
            bytes += parts[r]!.length;
            if (bytes >= PUBLISH_BYTES && r + 1 < done + k) {
              p.publish(b, from, r + 1 - from);
              from = r + 1;
              bytes = 0;
            }
          }
          p.publish(b, from, done + k - from);
          done += k;
          i += k;
        }
      }
      return i;
    } finally {
      parts.length = 0;
    }
  }

  private checkOpen(): void {
    if (Atomics.load(this.ring.i32, CLOSED) !== 0) throw closedError();
  }

  // ---- zero copy (one frame) ----

  /** Claims a MSG frame of `size` bytes; returns its payload offset, or -1 if the ring is full. */
  tryClaimOne(size: number): number {
    this.checkOpen();
    this.out.set(0, size, KIND_MSG, 0);
    return this.side().tryClaim(this.out, 0, 1) === 0 ? -1 : this.out.off[0]!;
  }

  claimSteps(size: number, deadline: Deadline): WaitSteps<number> {
    return spinThenSleep(
      this.ctx,
      () => {
        const off = this.tryClaimOne(size);
        return off < 0 ? NOT_YET : off;
      },
      deadline,
      this.policy,
      this.onSlice,
    );
  }

  publishOne(len: number): void {
    this.out.used[0] = len;
    this.side().publish(this.out, 0, 1);
  }

  abandonOne(): void {
    this.side().abandon(this.out, 0, 1);
  }
}

export function closedError(): ShmkitError {
  return new ShmkitError('CLOSED', 'the channel is closed');
}

function tooLarge(len: number, m: RingMemory): ShmkitError {
  return new ShmkitError(
    'TOO_LARGE',
    m.manyConsumers
      ? `a message of ${len} bytes does not fit one frame of this many-consumer channel (max ${m.maxMessage}; use a capacity of at least twice the largest message)`
      : `a message of ${len} bytes is above this channel's maxMessageSize (${m.maxMessage})`,
  );
}
