/**
 * Reassembly of messages larger than one frame (one-consumer channels).
 *
 * A producer sends such a message as FIRST (header word 3: the whole length), MIDDLE..., LAST,
 * in ring order; frames of other producers may come in between. The consumer copies each
 * fragment into a buffer of the whole length, allocated once at FIRST (that buffer is what the
 * bytes codec returns: one allocation per message), keyed by the producer's token (header word 2).
 *
 * Rules, all checked because the frames come from memory other parties write:
 * - a MIDDLE or LAST without a partial message from that producer, or one that overflows it,
 *   or a LAST that leaves it short, is CORRUPT;
 * - a FIRST or MSG from a producer that has a partial message discards the partial: that
 *   producer gave up on it (its send timed out or was aborted mid-message);
 * - the partial of a producer that died is dropped (`dropDead`): never delivered torn.
 */
import type { Identity } from '@shmkit/core';
import { KIND_FIRST, KIND_LAST, KIND_MIDDLE } from './layout.js';
import { corrupt, type FrameInfo } from './ring-memory.js';

interface Partial {
  buf: Uint8Array;
  filled: number;
}

export class Reassembly {
  private readonly partials = new Map<number, Partial>();

  /** How many messages are partly received. */
  get size(): number {
    return this.partials.size;
  }

  /** A whole message arrived from `producer`: any partial of its is abandoned. */
  whole(producer: number): void {
    if (this.partials.size !== 0) this.partials.delete(producer);
  }

  /**
   * Adds the fragment `f` (read from `ring`); returns the completed message after a LAST,
   * undefined otherwise.
   */
  add(ring: Uint8Array, f: FrameInfo): Uint8Array | undefined {
    if (f.kind === KIND_FIRST) {
      const buf = new Uint8Array(f.total);
      buf.set(ring.subarray(f.offset, f.offset + f.len));
      this.partials.set(f.producer, { buf, filled: f.len });
      return undefined;
    }
    const p = this.partials.get(f.producer);
    if (p === undefined) throw corrupt(`a message fragment without its first part`);
    if (p.filled + f.len > p.buf.length) throw corrupt(`message fragments longer than their message`);
    p.buf.set(ring.subarray(f.offset, f.offset + f.len), p.filled);
    p.filled += f.len;
    if (f.kind === KIND_MIDDLE) return undefined;
    if (f.kind !== KIND_LAST) throw corrupt(`a fragment of kind ${f.kind}`);
    this.partials.delete(f.producer);
    if (p.filled !== p.buf.length)
      throw corrupt(`a fragmented message ${p.buf.length - p.filled} bytes short`);
    return p.buf;
  }

  /** Drops the partial messages of producers that died. Returns how many. */
  dropDead(identity: Identity): number {
    let n = 0;
    for (const token of this.partials.keys()) {
      if (!identity.isAlive(token)) {
        this.partials.delete(token);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.partials.clear();
  }
}
