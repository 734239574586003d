/**
 * The frames a producer is about to claim and publish, in reusable typed arrays (no allocation
 * per send). A batch (sendMany, or the fragments of a large message) fills several rows; a plain
 * send fills one.
 */

/** The most frames one claim covers. */
export const MAX_BATCH = 256;

export class Outbox {
  /** Payload bytes claimed for each frame (publish may store fewer: encodeInto). */
  readonly len = new Int32Array(MAX_BATCH);
  /** Payload bytes actually written, set before publish. */
  readonly used = new Int32Array(MAX_BATCH);
  /** Frame kind (KIND_MSG, KIND_FIRST, ...). */
  readonly kind = new Int32Array(MAX_BATCH);
  /** Header word 3 (FIRST: the whole message's length). */
  readonly w3 = new Int32Array(MAX_BATCH);
  /** Set by the claim: ring position of each frame. */
  readonly pos = new Int32Array(MAX_BATCH);
  /** Set by the claim: byte offset of each frame's payload in the region. */
  readonly off = new Int32Array(MAX_BATCH);
  /** Rows filled. */
  n = 0;

  /** Sets row `i` to a frame of `len` payload bytes. */
  set(i: number, len: number, kind: number, w3: number): void {
    this.len[i] = len;
    this.used[i] = len;
    this.kind[i] = kind;
    this.w3[i] = w3;
  }
}
