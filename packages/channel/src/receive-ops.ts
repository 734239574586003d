/**
 * A Channel's receiving operations as the public API offers them — recv, recvInto, recvMany,
 * poll, waitReadable and peek / release, each in its blocking, try and async form — over the
 * Receiver (receiver.ts: finding, reassembling and decoding messages; consumer.ts: the ring
 * algorithms). What is written once here:
 * - the wait every blocking or async form makes when nothing is ready: spin, then sleep on the
 *   data signal (wake.ts), with the Receiver's repairs after each quiet liveness slice;
 * - the rule every receiving method checks first: a peeked message is released before anything
 *   else is received through the same Channel object.
 * channel.ts documents the methods; they delegate here.
 */
import type { AsyncWaitOptions, Waiter, WaitOptions, WaitSteps } from '@shmkit/core';
import {
  Deadline,
  invalidArgument,
  runAsync,
  runBlocking,
  ShmkitError,
  throwIfAborted,
  validateAsyncOptions,
  validateInteger,
  validateWaitOptions,
} from '@shmkit/core';
import type { PollHandler } from './channel-options.js';
import { copyOut, NONE, type Receiver, TOO_BIG } from './receiver.js';
import { type Attempt, NOT_YET, SpinPolicy, spinThenSleep, type WaitContext } from './wake.js';

export class ReceiveOps<T> {
  /** Whether peek handed out a view that release() has not given back yet. */
  private peeked = false;
  private readonly policy = new SpinPolicy();
  // The attempts Channel passes to the three forms below (recv, peek, waitReadable), bound once
  // so that no call allocates a closure.
  /** The next message, decoded, its room released. */
  readonly message: Attempt<T> = () => this.rx.tryTake();
  /** The next message in place (peek): its room stays taken until release(). */
  readonly view: Attempt<Uint8Array> = () => this.peekAttempt();
  /** Nothing (undefined) once a message may be ready (waitReadable); NOT_YET before. */
  readonly readable: Attempt<void> = () => (this.rx.readable() ? undefined : NOT_YET);
  private readonly checkIdleFn = (): void => this.checkIdle();

  constructor(
    private readonly rx: Receiver<T>,
    private readonly ctx: WaitContext,
    private readonly waiter: Waiter,
  ) {}

  recvInto(target: Uint8Array, o: WaitOptions | undefined): number {
    const timeout = validateWaitOptions(o);
    this.checkTarget(target);
    // The first try makes no closure: recvInto allocates nothing when a message is ready.
    const n = this.intoAttempt(target);
    if (n !== NOT_YET) return n;
    return this.block(timeout, () => this.intoAttempt(target));
  }

  tryRecvInto(target: Uint8Array): number {
    this.checkTarget(target);
    const n = this.rx.attempt(() => this.intoAttempt(target));
    return n === NOT_YET ? -1 : n;
  }

  recvIntoAsync(target: Uint8Array, o: AsyncWaitOptions | undefined): Promise<number> {
    return this.waiting(
      o,
      () => this.intoAttempt(target),
      () => this.checkTarget(target),
    );
  }

  recvMany(max: number, o: WaitOptions | undefined): T[] {
    const timeout = validateWaitOptions(o);
    validateInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
    this.checkIdle();
    const out: T[] = [];
    if (this.manyAttempt(out, max) === NOT_YET) this.block(timeout, () => this.manyAttempt(out, max));
    return out;
  }

  tryRecvMany(max: number): T[] {
    validateInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
    const out: T[] = [];
    this.trying(() => this.manyAttempt(out, max));
    return out;
  }

  poll(handler: PollHandler, limit: number): number {
    if (typeof handler !== 'function') invalidArgument('poll needs a handler function');
    if (limit !== Number.POSITIVE_INFINITY) validateInteger(limit, 'limit', 0, Number.MAX_SAFE_INTEGER);
    this.checkIdle();
    const rx = this.rx;
    let n = 0;
    try {
      while (n < limit && rx.step(Number.POSITIVE_INFINITY, limit - n) !== NONE) {
        n++;
        handler(rx.buf, rx.off, rx.len);
      }
    } finally {
      // Everything handed over, the throwing handler's message included, is consumed.
      rx.release();
    }
    return n;
  }

  release(): void {
    if (!this.peeked) invalidArgument('release() without a peeked message');
    this.peeked = false;
    this.rx.release();
  }

  /** Symbol.dispose: forgets the peeked message and partly received ones. */
  dispose(): void {
    this.peeked = false;
    this.rx.dispose();
  }

  // ---- the three forms of a wait ----

  /** The blocking form: `take` now, else wait for it (TIMEOUT past `o.timeout`). */
  blocking<R>(o: WaitOptions | undefined, take: Attempt<R>): R {
    const timeout = validateWaitOptions(o);
    this.checkIdle();
    const v = take();
    if (v !== NOT_YET) return v;
    return this.block(timeout, take);
  }

  /** The try form: `take` now, or after close() what was sent before it; undefined if nothing. */
  trying<R>(take: Attempt<R>): R | undefined {
    this.checkIdle();
    const v = this.rx.attempt(take);
    return v === NOT_YET ? undefined : v;
  }

  /**
   * The async form: as blocking, awaiting instead of blocking the thread; AbortSignal honoured.
   * Every failure, `target` not a Uint8Array (recvIntoAsync) included, is a rejection. The first
   * look runs before any wait is set up (written out rather than through core's waitStepsAsync,
   * whose steps and deadline cost recvAsync 16-24% of its speed when a message is ready).
   */
  async waiting<R>(
    o: AsyncWaitOptions | undefined,
    take: Attempt<R>,
    check: () => void = this.checkIdleFn,
  ): Promise<R> {
    const { timeout, signal } = validateAsyncOptions(o);
    check();
    throwIfAborted(signal);
    const v = take();
    if (v !== NOT_YET) return v;
    return runAsync(this.steps(new Deadline(timeout), take), this.waiter, this.ctx.i32, signal);
  }

  private block<R>(timeout: number, take: Attempt<R>): R {
    return runBlocking(this.steps(new Deadline(timeout), take), this.waiter, this.ctx.i32);
  }

  /** Waits for `take` to produce something (see wake.ts), with the repairs of a quiet slice. */
  private steps<R>(deadline: Deadline, take: Attempt<R>): WaitSteps<R> {
    return spinThenSleep(
      this.ctx,
      () => this.rx.attempt(take),
      deadline,
      this.policy,
      () => this.rx.repair(take),
    );
  }

  // ---- attempts: one look at the ring each ----

  private intoAttempt(target: Uint8Array): number | typeof NOT_YET {
    const rx = this.rx;
    const r = rx.step(target.length);
    if (r === NONE) {
      rx.release();
      return NOT_YET;
    }
    if (r === TOO_BIG) {
      rx.release();
      throw new ShmkitError(
        'TOO_LARGE',
        `the next message has ${rx.len} bytes, the target ${target.length}: it stays queued`,
      );
    }
    const len = rx.len;
    copyOut(rx.buf, rx.off, len, target);
    rx.release();
    return len;
  }

  private manyAttempt(out: T[], max: number): true | typeof NOT_YET {
    const rx = this.rx;
    try {
      while (out.length < max && rx.step(Number.POSITIVE_INFINITY, max - out.length) !== NONE)
        out.push(rx.decode());
    } finally {
      rx.release();
    }
    return out.length > 0 ? true : NOT_YET;
  }

  private peekAttempt(): Uint8Array | typeof NOT_YET {
    const rx = this.rx;
    if (rx.step(Number.POSITIVE_INFINITY) === NONE) {
      rx.release();
      return NOT_YET;
    }
    this.peeked = true;
    return rx.buf.subarray(rx.off, rx.off + rx.len);
  }

  private checkTarget(target: Uint8Array): void {
    if (!(target instanceof Uint8Array)) invalidArgument('the target must be a Uint8Array');
    this.checkIdle();
  }

  /** One peeked message at a time per Channel object: release() it before receiving more. */
  private checkIdle(): void {
    if (this.peeked) invalidArgument('this Channel object has a peeked message: release() it first');
  }
}
