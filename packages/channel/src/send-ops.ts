/**
 * A Channel's sending operations as the public API offers them — send, sendMany and the
 * zero-copy claim / publish — each in its blocking, try and async form, over the Sender
 * (sender.ts: encoding, fragments, batches; producer.ts: the ring algorithms). What is written
 * once here: how each form drives the Sender's wait steps (runBlocking in a worker, runAsync on
 * the event loop), and the one-claim-at-a-time rule every sending method checks first.
 * channel.ts documents the methods; they delegate here.
 */
import type { AsyncWaitOptions, Waiter, WaitOptions } from '@shmkit/core';
import {
  Deadline,
  invalidArgument,
  runAsync,
  runBlocking,
  throwIfAborted,
  validateAsyncOptions,
  validateInteger,
  validateWaitOptions,
} from '@shmkit/core';
import type { RingMemory } from './ring-memory.js';
import type { Sender } from './sender.js';

export class SendOps<T> {
  /** Payload offset of the outstanding zero-copy claim, or -1. */
  private claimed = -1;
  private claimedLen = 0;
  private readonly i32: Int32Array;

  constructor(
    private readonly tx: Sender<T>,
    private readonly ring: RingMemory,
    private readonly waiter: Waiter,
  ) {
    this.i32 = ring.i32;
  }

  send(value: T, o: WaitOptions | undefined): void {
    const timeout = validateWaitOptions(o);
    this.checkIdle();
    const tx = this.tx;
    const bytes = tx.prepare(value);
    if (tx.fragmented(bytes)) {
      runBlocking(tx.fragmentSteps(bytes!, new Deadline(timeout)), this.waiter, this.i32);
      return;
    }
    if (tx.tryOne(value, bytes)) return;
    runBlocking(tx.oneSteps(value, bytes, new Deadline(timeout)), this.waiter, this.i32);
  }

  trySend(value: T): boolean {
    this.checkIdle();
    const tx = this.tx;
    const bytes = tx.prepare(value);
    return tx.fragmented(bytes) ? tx.tryFragmented(bytes!) : tx.tryOne(value, bytes);
  }

  async sendAsync(value: T, o: AsyncWaitOptions | undefined): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdle();
    throwIfAborted(signal);
    const tx = this.tx;
    let bytes = tx.prepare(value);
    if (!tx.fragmented(bytes) && tx.tryOne(value, bytes)) return;
    // The codec may reuse its output buffer for the next send made while we wait: keep a copy.
    if (bytes !== undefined) bytes = bytes.slice();
    const steps = tx.fragmented(bytes)
      ? tx.fragmentSteps(bytes!, new Deadline(timeout))
      : tx.oneSteps(value, bytes, new Deadline(timeout));
    await runAsync(steps, this.waiter, this.i32, signal);
  }

  sendMany(values: readonly T[], o: WaitOptions | undefined): number {
    const timeout = validateWaitOptions(o);
    this.checkIdle();
    if (!Array.isArray(values)) invalidArgument('sendMany takes an array of values');
    const deadline = new Deadline(timeout);
    const tx = this.tx;
    let i = 0;
    while (i < values.length) {
      i = runBlocking(tx.manySteps(values, i, deadline), this.waiter, this.i32);
      if (i < values.length) {
        // values[i] needs fragments: it goes alone.
        const bytes = tx.prepare(values[i]!)!;
        runBlocking(tx.fragmentSteps(bytes, deadline), this.waiter, this.i32);
        i++;
      }
    }
    return values.length;
  }

  trySendMany(values: readonly T[]): number {
    this.checkIdle();
    if (!Array.isArray(values)) invalidArgument('trySendMany takes an array of values');
    const tx = this.tx;
    let i = 0;
    while (i < values.length) {
      // Without a deadline the steps never wait: they return where the ring ran out of room.
      const stop = runBlocking(tx.manySteps(values, i, undefined), this.waiter, this.i32);
      if (stop === values.length) return stop;
      if (stop > i) {
        i = stop;
        continue;
      }
      const bytes = tx.prepare(values[i]!);
      if (!tx.fragmented(bytes) || !tx.tryFragmented(bytes!)) return i;
      i++;
    }
    return i;
  }

  // ---- zero copy (one frame) ----

  claim(size: number, o: WaitOptions | undefined): Uint8Array {
    const timeout = validateWaitOptions(o);
    this.checkClaimSize(size);
    const off = this.tx.tryClaimOne(size);
    if (off >= 0) return this.claimView(off, size);
    return this.claimView(
      runBlocking(this.tx.claimSteps(size, new Deadline(timeout)), this.waiter, this.i32),
      size,
    );
  }

  tryClaim(size: number): Uint8Array | undefined {
    this.checkClaimSize(size);
    const off = this.tx.tryClaimOne(size);
    return off < 0 ? undefined : this.claimView(off, size);
  }

  async claimAsync(size: number, o: AsyncWaitOptions | undefined): Promise<Uint8Array> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkClaimSize(size);
    throwIfAborted(signal);
    const off = this.tx.tryClaimOne(size);
    if (off >= 0) return this.claimView(off, size);
    const at = await runAsync(this.tx.claimSteps(size, new Deadline(timeout)), this.waiter, this.i32, signal);
    return this.claimView(at, size);
  }

  publish(length: number | undefined): void {
    if (this.claimed < 0) invalidArgument('publish() without a claim');
    const len =
      length === undefined ? this.claimedLen : validateInteger(length, 'length', 0, this.claimedLen);
    this.claimed = -1;
    this.tx.publishOne(len);
  }

  cancelClaim(): void {
    if (this.claimed < 0) invalidArgument('cancelClaim() without a claim');
    this.claimed = -1;
    this.tx.abandonOne();
  }

  /** Stops counting this object's thread as a producer (see Channel.unregisterProducer). */
  unregisterProducer(): void {
    this.checkIdle();
    this.tx.unregister();
  }

  /** Symbol.dispose: gives back an outstanding claim and stops counting as a producer. */
  dispose(): void {
    if (this.claimed >= 0) this.cancelClaim();
    this.tx.unregister();
  }

  private claimView(off: number, size: number): Uint8Array {
    this.claimed = off;
    this.claimedLen = size;
    return this.ring.u8.subarray(off, off + size);
  }

  private checkClaimSize(size: number): void {
    this.checkIdle();
    validateInteger(size, 'size', 0, this.ring.maxFrame);
  }

  /** One claim at a time per Channel object: nothing else is sent while one is outstanding. */
  private checkIdle(): void {
    if (this.claimed >= 0)
      invalidArgument('this Channel object has a claim outstanding: publish() or cancelClaim() first');
  }
}
