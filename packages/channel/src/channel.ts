/**
 * Channel: messages between threads (and, in a segment, processes) through a framed byte ring.
 *
 * Where each job lives:
 * - channel.ts       the public class: its methods, documented, dispatch to the files below
 * - channel-create.ts options checked, the header written (tag last), byteLength, attach checks
 * - send-ops.ts      send / sendMany / claim in their blocking, try and async forms
 * - receive-ops.ts   recv / recvInto / recvMany / poll / waitReadable / peek in their three forms,
 *                    and the receive wait (spin, sleep, repairs after a quiet slice)
 * - channel-options.ts options, handle, CHANNEL_LIMITS;  until-closed.ts: the for-await loop
 * - layout.ts        the bytes: header words, frame header, kinds (docs/format.md mirrors it)
 * - ring-memory.ts   validated geometry and the frame-header reader
 * - producer.ts      one/many producers: claim, publish (claim-lock.ts: the many-producer lock)
 * - consumer.ts      one/many consumers: take, release (marks for many consumers)
 * - sender.ts        encoding, fragmentation, send batches;  receiver.ts: decoding, reassembly,
 *                    in-place frames, repairs after a dead peer
 * - wake.ts          the spin-then-sleep protocol and its ordering argument
 * - liveness.ts      producer registry, PEER_DEAD, dead producers' frames
 *
 * | producers | consumers | producer side   | consumer side  |
 * |-----------|-----------|-----------------|----------------|
 * | one       | one       | SingleProducer  | SingleConsumer |
 * | many      | one       | MultiProducer   | SingleConsumer |
 * | one       | many      | SingleProducer  | MultiConsumer  |
 * | many      | many      | MultiProducer   | MultiConsumer  |
 */
import {
  type AsyncWaitOptions,
  attach,
  bindNew,
  type Region,
  regionFromHandle,
  SharedObject,
  type WaitOptions,
} from '@shmkit/core';
import {
  channelByteLength,
  channelShape,
  checkLayoutVersion,
  codecForHandle,
  initChannel,
  withStructures,
} from './channel-create.js';
import {
  CHANNEL_LIMITS,
  type ChannelHandle,
  type ChannelOptions,
  type ChannelSizeOptions,
  type PollHandler,
} from './channel-options.js';
import { type Codec, type CodecName, resolveCodec } from './codec.js';
import {
  CHANNEL_TAG,
  CLOSED,
  DATA_SIGNAL,
  HEADER_BYTES,
  RECV_SLEEPERS,
  SEND_SLEEPERS,
  SPACE_SIGNAL,
} from './layout.js';
import { unregisterProducer } from './liveness.js';
import { ReceiveOps } from './receive-ops.js';
import { Receiver } from './receiver.js';
import { RingMemory } from './ring-memory.js';
import { SendOps } from './send-ops.js';
import { Sender } from './sender.js';
import { untilClosed } from './until-closed.js';

/**
 * A channel of messages over shared memory: post `channel.handle` to a worker, attach with
 * `Channel.from(handle)`, then `send` on one side and `recv` on the other. Messages arrive
 * exactly once, in the order each producer sent them. A full ring makes `send` wait (or
 * `trySend` return false): memory never grows. `close()` lets receivers drain what was sent,
 * after which they get CLOSED.
 *
 * Blocking methods block the calling thread (use them in workers); async ones keep the event
 * loop running. Sending allocates nothing on the ring side; `recv` allocates the value it returns
 * (one Uint8Array with the bytes codec), `poll` allocates nothing, `recvInto` at most a transient view.
 *
 * @example
 * ```ts fragment
 * const ch = new Channel<string>({ codec: 'utf8' });
 * new Worker('./consumer.js', { workerData: ch.handle }); // there: Channel.from(workerData)
 * ch.send('hello');
 * ch.close();
 * ```
 */
export class Channel<T = Uint8Array> extends SharedObject implements AsyncIterable<T>, Disposable {
  /** Bytes before the ring. */
  static readonly HEADER_BYTES = HEADER_BYTES;

  declare private codec: Codec<T>;
  declare private ring: RingMemory;
  declare private sends: SendOps<T>;
  declare private receives: ReceiveOps<T>;

  constructor(o?: ChannelOptions<T>) {
    const shape = channelShape<T>(o);
    super();
    const region = bindNew(
      this,
      channelByteLength(shape.capacity, {
        consumers: shape.manyConsumers ? 'many' : 'one',
        extensionBytes: shape.extensionBytes,
      }),
      o?.region,
    );
    initChannel(region, this.i32, shape);
    this.setup(shape.codec);
  }

  /**
   * Bytes a channel with a ring of `capacity` bytes occupies: more with many consumers (release
   * marks), with codec 'msgpack' (its record structures table) or with an extension area.
   */
  static byteLength(capacity: number, o?: ChannelSizeOptions): number {
    return channelByteLength(capacity, o);
  }

  /**
   * Attaches, in this thread, to the channel behind `handle`. Built-in codecs are found by name;
   * a channel made with a custom codec needs `{ codec }` again here.
   */
  static from<T = Uint8Array>(handle: ChannelHandle, o?: { codec?: Codec<T> }): Channel<T> {
    const region = regionFromHandle(handle, 'Channel');
    return Channel.attach(region, { codec: codecForHandle<T>(handle, o?.codec) });
  }

  /** Attaches to a channel already initialized in `region`. */
  static attach<T = Uint8Array>(region: Region, o?: { codec?: CodecName | Codec<T> }): Channel<T> {
    const ch = attach(Channel, region, CHANNEL_TAG, HEADER_BYTES, 'Channel') as Channel<T>;
    checkLayoutVersion(ch.i32);
    ch.setup(resolveCodec<T>(o?.codec));
    return ch;
  }

  protected get typeName(): string {
    return 'Channel';
  }

  override get handle(): ChannelHandle {
    return { ...super.handle, codec: this.codec.name };
  }

  /** Bytes of the ring. */
  get capacity(): number {
    return this.ring.capacity;
  }

  /** The largest message (encoded bytes); larger ones are TOO_LARGE. */
  get maxMessageSize(): number {
    return this.ring.maxMessage;
  }

  /** The largest message that travels in one frame (half the ring, less a header); peek and claim stop here. */
  get maxFrameSize(): number {
    return this.ring.maxFrame;
  }

  /** The extension area (extensionBytes at creation), or undefined. The channel never touches it. */
  get extension(): Uint8Array | undefined {
    return this.ring.extension;
  }

  /** Whether close() was called (by any thread). The value can be late: another thread may close right after. */
  get closed(): boolean {
    return Atomics.load(this.i32, CLOSED) !== 0;
  }

  // ---- sending (send-ops.ts) ----

  /**
   * Sends `value`, blocking while the ring is full. A message larger than one frame is sent in
   * fragments as room comes free. CLOSED after close(); TOO_LARGE past maxMessageSize.
   */
  send(value: T, o?: WaitOptions): void {
    this.sends.send(value, o);
  }

  /**
   * Sends `value` if the ring has room for all of it now; false if not. CLOSED after close();
   * TOO_LARGE for a message whose frames cannot fit the ring at once (use send).
   */
  trySend(value: T): boolean {
    return this.sends.trySend(value);
  }

  /** The async form of send: awaits room without blocking the event loop. */
  sendAsync(value: T, o?: AsyncWaitOptions): Promise<void> {
    return this.sends.sendAsync(value, o);
  }

  /**
   * Sends every value, in order, blocking while the ring is full: one claim, one index
   * publication and at most one wake per batch of up to 256 messages. Returns values.length.
   *
   * @example
   * ```ts fragment
   * ch.sendMany([a, b, c]);            // the consumer sees a, b, c in this order
   * ```
   */
  sendMany(values: readonly T[], o?: WaitOptions): number {
    return this.sends.sendMany(values, o);
  }

  /**
   * Sends as many of `values` (from the first, in order) as fit now, in batches; returns how many
   * it sent (0 when the ring is full). CLOSED after close().
   */
  trySendMany(values: readonly T[]): number {
    return this.sends.trySendMany(values);
  }

  // ---- receiving (receive-ops.ts) ----

  /** Receives the next message, blocking while the ring is empty. CLOSED once closed and drained. */
  recv(o?: WaitOptions): T {
    return this.receives.blocking(o, this.receives.message);
  }

  /** Receives a message if one is ready; undefined otherwise. CLOSED once closed and drained. */
  tryRecv(): T | undefined {
    return this.receives.trying(this.receives.message);
  }

  /** The async form of recv. */
  recvAsync(o?: AsyncWaitOptions): Promise<T> {
    return this.receives.waiting(o, this.receives.message);
  }

  /**
   * Copies the next message's bytes (encoded, whatever the codec) into `target` and returns their
   * length, blocking while the ring is empty. Allocates nothing up to 64 bytes (above, one small
   * transient view for the copy). A message longer than `target`:
   * TOO_LARGE, and the message stays queued (receive it with a larger target).
   *
   * @example
   * ```ts fragment
   * const buf = new Uint8Array(ch.maxMessageSize);
   * const n = ch.recvInto(buf);        // the message is buf.subarray(0, n)
   * ```
   */
  recvInto(target: Uint8Array, o?: WaitOptions): number {
    return this.receives.recvInto(target, o);
  }

  /** recvInto without waiting: -1 when nothing is ready. CLOSED once closed and drained. */
  tryRecvInto(target: Uint8Array): number {
    return this.receives.tryRecvInto(target);
  }

  /** The async form of recvInto. */
  recvIntoAsync(target: Uint8Array, o?: AsyncWaitOptions): Promise<number> {
    return this.receives.recvIntoAsync(target, o);
  }

  /**
   * Receives up to `max` messages, waiting for at least one; their room is released once for the
   * whole batch. CLOSED once closed and drained.
   */
  recvMany(max: number, o?: WaitOptions): T[] {
    return this.receives.recvMany(max, o);
  }

  /** recvMany without waiting: [] when nothing is ready. CLOSED once closed and drained. */
  tryRecvMany(max: number): T[] {
    return this.receives.tryRecvMany(max);
  }

  /**
   * Hands up to `limit` ready messages to `handler`, each in place (`buf[offset, offset + length)`,
   * valid only during the call: copy what you keep), without waiting and without allocating; the
   * room is released once at the end. Returns how many it handled (0: none ready — see
   * waitReadable). A handler that throws stops the poll: the messages handed over so far, that
   * one included, are consumed and released, and the error propagates.
   *
   * @example
   * ```ts fragment
   * for (;;) {
   *   ch.waitReadable();
   *   ch.poll((buf, off, len) => { sum += buf[off]; });
   * }
   * ```
   */
  poll(handler: PollHandler, limit = Number.POSITIVE_INFINITY): number {
    return this.receives.poll(handler, limit);
  }

  /**
   * Waits until a message may be ready for this receiver (poll may still find none: another
   * receiver took it, or it is part of a larger message). CLOSED once closed and drained.
   */
  waitReadable(o?: WaitOptions): void {
    this.receives.blocking(o, this.receives.readable);
  }

  /** The async form of waitReadable. */
  waitReadableAsync(o?: AsyncWaitOptions): Promise<void> {
    return this.receives.waiting(o, this.receives.readable);
  }

  /** `for await (const m of channel)`: receives until the channel is closed and drained. */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return untilClosed(() => this.recvAsync());
  }

  /**
   * Closes the channel for every thread: senders get CLOSED from now on, receivers get what was
   * already sent and then CLOSED, and every waiter wakes up. Idempotent.
   */
  close(): void {
    if (Atomics.exchange(this.i32, CLOSED, 1) !== 0) return;
    Atomics.add(this.i32, DATA_SIGNAL, 1);
    Atomics.add(this.i32, SPACE_SIGNAL, 1);
    this.waiter.notify(this.i32, DATA_SIGNAL, Number.POSITIVE_INFINITY);
    this.waiter.notify(this.i32, SPACE_SIGNAL, Number.POSITIVE_INFINITY);
  }

  /**
   * Removes `token` from the producers of the channel initialized in `region`, without keeping a
   * Channel object: Segment.close() uses it for the channels it handed out (a no-op for a token
   * that never sent).
   */
  static unregisterProducerToken(region: Region, token: number): void {
    unregisterProducer(Channel.attach(region).ring, token);
  }

  /** @deprecated use {@link Channel.unregisterProducerToken} (same behaviour; this name goes in the next release). */
  static unregisterToken(region: Region, token: number): void {
    Channel.unregisterProducerToken(region, token);
  }

  /**
   * Stops counting this Channel object's thread as a producer, so that its exit is not taken for
   * a crash (receivers get PEER_DEAD only when every registered producer died). Segment.close()
   * calls it; sending again registers again. INVALID_ARGUMENT while a claim is outstanding.
   *
   * @example
   * ```ts fragment
   * ch.send(last);
   * ch.unregisterProducer();           // this thread leaves; its exit is not a dead producer
   * ```
   */
  unregisterProducer(): void {
    this.sends.unregisterProducer();
  }

  /** @deprecated use {@link Channel.unregisterProducer} (same behaviour; this name goes in the next release). */
  unregister(): void {
    this.unregisterProducer();
  }

  /**
   * `using ch = Channel.from(handle)`: at the end of the scope this object lets go — it stops
   * counting as a producer and drops partly received messages. The channel stays open for every
   * other thread: call close() to end it for everyone.
   */
  [Symbol.dispose](): void {
    this.sends.dispose();
    this.receives.dispose();
  }

  // ---- zero copy, one frame (send-ops.ts and receive-ops.ts) ----

  /**
   * Claims room for a message of up to `size` bytes (at most maxFrameSize) and returns it as a
   * view into the ring: fill it in place, then `publish(length)`. Blocks while the ring is full.
   * One claim at a time per Channel object; the view must not be used after publish or cancelClaim.
   */
  claim(size: number, o?: WaitOptions): Uint8Array {
    return this.sends.claim(size, o);
  }

  /** claim without waiting: undefined when the ring has no room now. */
  tryClaim(size: number): Uint8Array | undefined {
    return this.sends.tryClaim(size);
  }

  /** The async form of claim. */
  claimAsync(size: number, o?: AsyncWaitOptions): Promise<Uint8Array> {
    return this.sends.claimAsync(size, o);
  }

  /** Publishes the claimed message with its first `length` bytes (default: all it claimed). */
  publish(length?: number): void {
    this.sends.publish(length);
  }

  /** Gives the claimed room back without sending anything. */
  cancelClaim(): void {
    this.sends.cancelClaim();
  }

  /**
   * Returns the next message as a view, without copying it out of the ring (a message larger than
   * one frame is reassembled first), blocking while the ring is empty: read it, then `release()`.
   * The view must not be used after release. CLOSED once closed and drained.
   */
  peek(o?: WaitOptions): Uint8Array {
    return this.receives.blocking(o, this.receives.view);
  }

  /** peek without waiting: undefined when nothing is ready. */
  tryPeek(): Uint8Array | undefined {
    return this.receives.trying(this.receives.view);
  }

  /** The async form of peek. */
  peekAsync(o?: AsyncWaitOptions): Promise<Uint8Array> {
    return this.receives.waiting(o, this.receives.view);
  }

  /** Releases the message returned by peek; its room goes back to the senders. */
  release(): void {
    this.receives.release();
  }

  // ---- internals ----

  /** Runs for new and attached objects alike: attach() creates objects without the constructor. */
  private setup(plain: Codec<T>): void {
    const i32 = this.i32;
    const ring = new RingMemory(i32, this.region.bytes(), this.waiter);
    this.ring = ring;
    const codec = withStructures(plain, ring, this.region.buffer);
    this.codec = codec;
    const sliceMs = this.identity.livenessSliceMs;
    const tx = new Sender(ring, codec, this.identity, {
      i32,
      signal: SPACE_SIGNAL,
      sleepers: SEND_SLEEPERS,
      sliceMs,
      what: 'Channel send',
    });
    this.sends = new SendOps(tx, ring, this.waiter);
    const recvCtx = { i32, signal: DATA_SIGNAL, sleepers: RECV_SLEEPERS, sliceMs, what: 'Channel recv' };
    this.receives = new ReceiveOps(new Receiver(ring, codec, this.identity), recvCtx, this.waiter);
  }
}

export { CHANNEL_LIMITS, type ChannelHandle, type ChannelOptions, type ChannelSizeOptions, type PollHandler };
