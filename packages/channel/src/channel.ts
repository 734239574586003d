/**
 * Channel: messages between threads (and, in a segment, processes) through a framed byte ring.
 *
 * Where each job lives:
 * - layout.ts       the bytes: header words, frame header, kinds (docs/format.md mirrors it)
 * - ring-memory.ts  validated geometry and the frame-header reader
 * - producer.ts     one/many producers: claim, publish (claim-lock.ts: the many-producer lock)
 * - consumer.ts     one/many consumers: take, release (marks for many consumers)
 * - sender.ts       encoding, fragmentation, send batches;  receiver.ts: decoding, reassembly,
 *                   recvInto/poll, repairs after a dead peer
 * - wake.ts         the spin-then-sleep protocol and its ordering argument
 * - liveness.ts     producer registry, PEER_DEAD, dead producers' frames
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
  Deadline,
  invalidArgument,
  publishTag,
  type Region,
  regionFromHandle,
  runAsync,
  runBlocking,
  SharedObject,
  ShmkitError,
  throwIfAborted,
  validateAsyncOptions,
  validateInteger,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';
import {
  CHANNEL_LIMITS,
  type ChannelHandle,
  type ChannelOptions,
  type PollHandler,
} from './channel-options.js';
import { type Codec, type CodecName, msgpackCodec, resolveCodec } from './codec.js';
import {
  CAPACITY,
  CHANNEL_TAG,
  CLOSED,
  DATA_SIGNAL,
  DEFAULT_MAX_MESSAGE,
  EXT_BYTES,
  EXT_OFFSET,
  extensionOffset,
  FLAG_MANY_CONSUMERS,
  FLAG_MANY_PRODUCERS,
  FLAG_STRUCTURES,
  FLAGS,
  HEADER_BYTES,
  LAYOUT_VERSION,
  MAX_CAPACITY,
  MAX_FRAME,
  MAX_MAX_MESSAGE,
  MAX_MESSAGE,
  MIN_CAPACITY,
  marksBytes,
  maxFrameFor,
  RECV_SLEEPERS,
  SEND_SLEEPERS,
  SPACE_SIGNAL,
  VERSION,
} from './layout.js';
import { unregisterProducer } from './liveness.js';
import { initStructures, SharedStructures, STRUCTURES_BYTES } from './msgpack-structures.js';
import { copyOut, NONE, Receiver, TOO_BIG } from './receiver.js';
import { RingMemory } from './ring-memory.js';
import { Sender } from './sender.js';
import { NOT_YET, SpinPolicy, spinThenSleep, type WaitContext } from './wake.js';

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
  declare private tx: Sender<T>;
  declare private rx: Receiver<T>;
  declare private recvCtx: WaitContext;
  declare private recvPolicy: SpinPolicy;
  /** Payload offset and length of the outstanding zero-copy claim, or -1. */
  declare private claimed: number;
  declare private claimedLen: number;
  declare private peeked: boolean;
  declare private takeFn: () => T | typeof NOT_YET;

  constructor(o?: ChannelOptions<T>) {
    const capacity = validateInteger(o?.capacity ?? 1 << 20, 'capacity', MIN_CAPACITY, MAX_CAPACITY);
    if ((capacity & (capacity - 1)) !== 0)
      invalidArgument(`capacity must be a power of two, got ${capacity}`);
    const producers = o?.producers ?? 'one';
    const consumers = o?.consumers ?? 'one';
    if (producers !== 'one' && producers !== 'many') invalidArgument(`producers must be 'one' or 'many'`);
    if (consumers !== 'one' && consumers !== 'many') invalidArgument(`consumers must be 'one' or 'many'`);
    const maxFrame = maxFrameFor(capacity);
    let maxMessage = validateInteger(
      o?.maxMessageSize ?? DEFAULT_MAX_MESSAGE,
      'maxMessageSize',
      1,
      MAX_MAX_MESSAGE,
    );
    if (maxMessage < maxFrame || consumers === 'many') maxMessage = maxFrame;
    // The built-in msgpack codec keeps its record structures in the extension area.
    const structures = o?.codec === 'msgpack';
    const ext = structures
      ? STRUCTURES_BYTES
      : (validateInteger(o?.extensionBytes ?? 0, 'extensionBytes', 0, MAX_CAPACITY) + 15) & ~15;
    const codec = resolveCodec<T>(o?.codec);
    super();
    const region = bindNew(this, Channel.byteLength(capacity, { consumers, extensionBytes: ext }), o?.region);
    const i32 = this.i32;
    Atomics.store(i32, VERSION, LAYOUT_VERSION);
    Atomics.store(i32, CAPACITY, capacity);
    Atomics.store(
      i32,
      FLAGS,
      (producers === 'many' ? FLAG_MANY_PRODUCERS : 0) |
        (consumers === 'many' ? FLAG_MANY_CONSUMERS : 0) |
        (structures ? FLAG_STRUCTURES : 0),
    );
    if (structures)
      initStructures(region.buffer, region.byteOffset + extensionOffset(capacity, consumers === 'many'));
    Atomics.store(i32, MAX_MESSAGE, maxMessage);
    Atomics.store(i32, MAX_FRAME, maxFrame);
    Atomics.store(i32, EXT_OFFSET, ext === 0 ? 0 : extensionOffset(capacity, consumers === 'many'));
    Atomics.store(i32, EXT_BYTES, ext);
    if (consumers === 'many') {
      // Marks start odd: "not released" for every position (positions are multiples of 16).
      new Int32Array(
        region.buffer,
        region.byteOffset + HEADER_BYTES + capacity,
        marksBytes(capacity) / 4,
      ).fill(1);
    }
    // SYNC POINT (write): the tag is published last; attach() reads it before any other word.
    publishTag(region, CHANNEL_TAG);
    this.setup(codec);
  }

  /**
   * Bytes a channel with a ring of `capacity` bytes occupies: more with many consumers (release
   * marks), with codec 'msgpack' (its record structures table) or with an extension area.
   */
  static byteLength(
    capacity: number,
    o?: {
      consumers?: 'one' | 'many';
      codec?: CodecName | Codec<unknown> | string | undefined;
      extensionBytes?: number;
    },
  ): number {
    const ext = o?.codec === 'msgpack' ? STRUCTURES_BYTES : ((o?.extensionBytes ?? 0) + 15) & ~15;
    return extensionOffset(capacity, o?.consumers === 'many') + ext;
  }

  /**
   * Attaches, in this thread, to the channel behind `handle`. Built-in codecs are found by name;
   * a channel made with a custom codec needs `{ codec }` again here.
   */
  static from<T = Uint8Array>(handle: ChannelHandle, o?: { codec?: Codec<T> }): Channel<T> {
    const region = regionFromHandle(handle, 'Channel');
    const name = (handle as Partial<ChannelHandle>).codec;
    let codec = o?.codec;
    if (codec === undefined) {
      if (name !== 'bytes' && name !== 'utf8' && name !== 'msgpack') {
        invalidArgument(`this channel uses the custom codec ${JSON.stringify(name)}: pass it as { codec }`);
      }
      codec = resolveCodec<T>(name);
    }
    return Channel.attach(region, { codec });
  }

  /** Attaches to a channel already initialized in `region`. */
  static attach<T = Uint8Array>(region: Region, o?: { codec?: CodecName | Codec<T> }): Channel<T> {
    const ch = attach(Channel, region, CHANNEL_TAG, HEADER_BYTES, 'Channel') as Channel<T>;
    // SYNC POINT (read): the tag was checked by attach(); the version was stored before it.
    const version = Atomics.load(ch.i32, VERSION);
    if (version !== LAYOUT_VERSION) {
      throw new ShmkitError(
        'INCOMPATIBLE',
        `channel layout version ${version}, this shmkit reads ${LAYOUT_VERSION}`,
      );
    }
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

  // ---- sending ----

  /**
   * Sends `value`, blocking while the ring is full. A message larger than one frame is sent in
   * fragments as room comes free. CLOSED after close(); TOO_LARGE past maxMessageSize.
   */
  send(value: T, o?: WaitOptions): void {
    const timeout = validateWaitOptions(o);
    this.checkIdleProducer();
    const tx = this.tx;
    const bytes = tx.prepare(value);
    if (tx.fragmented(bytes)) {
      runBlocking(tx.fragmentSteps(bytes!, new Deadline(timeout)), this.waiter, this.i32);
      return;
    }
    if (tx.tryOne(value, bytes)) return;
    runBlocking(tx.oneSteps(value, bytes, new Deadline(timeout)), this.waiter, this.i32);
  }

  /**
   * Sends `value` if the ring has room for all of it now; false if not. CLOSED after close();
   * TOO_LARGE for a message whose frames cannot fit the ring at once (use send).
   */
  trySend(value: T): boolean {
    this.checkIdleProducer();
    const tx = this.tx;
    const bytes = tx.prepare(value);
    return tx.fragmented(bytes) ? tx.tryFragmented(bytes!) : tx.tryOne(value, bytes);
  }

  /** The async form of send: awaits room without blocking the event loop. */
  async sendAsync(value: T, o?: AsyncWaitOptions): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdleProducer();
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
    const timeout = validateWaitOptions(o);
    this.checkIdleProducer();
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

  /**
   * Sends as many of `values` (from the first, in order) as fit now, in batches; returns how many
   * it sent (0 when the ring is full). CLOSED after close().
   */
  trySendMany(values: readonly T[]): number {
    this.checkIdleProducer();
    if (!Array.isArray(values)) invalidArgument('trySendMany takes an array of values');
    const tx = this.tx;
    let i = 0;
    while (i < values.length) {
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

  // ---- receiving ----

  /** Receives the next message, blocking while the ring is empty. CLOSED once closed and drained. */
  recv(o?: WaitOptions): T {
    const timeout = validateWaitOptions(o);
    this.checkIdleConsumer();
    const v = this.rx.tryTake();
    if (v !== NOT_YET) return v;
    return runBlocking(this.recvSteps(new Deadline(timeout), this.takeFn), this.waiter, this.i32);
  }

  /** Receives a message if one is ready; undefined otherwise. CLOSED once closed and drained. */
  tryRecv(): T | undefined {
    this.checkIdleConsumer();
    const v = this.rx.attempt(this.takeFn);
    return v === NOT_YET ? undefined : v;
  }

  /** The async form of recv. */
  async recvAsync(o?: AsyncWaitOptions): Promise<T> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdleConsumer();
    throwIfAborted(signal);
    const v = this.rx.tryTake();
    if (v !== NOT_YET) return v;
    return runAsync(this.recvSteps(new Deadline(timeout), this.takeFn), this.waiter, this.i32, signal);
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
    const timeout = validateWaitOptions(o);
    this.checkTarget(target);
    const n = this.intoAttempt(target);
    if (n !== NOT_YET) return n;
    return runBlocking(
      this.recvSteps(new Deadline(timeout), () => this.intoAttempt(target)),
      this.waiter,
      this.i32,
    );
  }

  /** recvInto without waiting: -1 when nothing is ready. CLOSED once closed and drained. */
  tryRecvInto(target: Uint8Array): number {
    this.checkTarget(target);
    const n = this.rx.attempt(() => this.intoAttempt(target));
    return n === NOT_YET ? -1 : n;
  }

  /** The async form of recvInto. */
  async recvIntoAsync(target: Uint8Array, o?: AsyncWaitOptions): Promise<number> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkTarget(target);
    throwIfAborted(signal);
    const n = this.intoAttempt(target);
    if (n !== NOT_YET) return n;
    return runAsync(
      this.recvSteps(new Deadline(timeout), () => this.intoAttempt(target)),
      this.waiter,
      this.i32,
      signal,
    );
  }

  /**
   * Receives up to `max` messages, waiting for at least one; their room is released once for the
   * whole batch. CLOSED once closed and drained.
   */
  recvMany(max: number, o?: WaitOptions): T[] {
    const timeout = validateWaitOptions(o);
    validateInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
    this.checkIdleConsumer();
    const out: T[] = [];
    const first = this.manyAttempt(out, max);
    if (first === NOT_YET) {
      runBlocking(
        this.recvSteps(new Deadline(timeout), () => this.manyAttempt(out, max)),
        this.waiter,
        this.i32,
      );
    }
    return out;
  }

  /** recvMany without waiting: [] when nothing is ready. CLOSED once closed and drained. */
  tryRecvMany(max: number): T[] {
    validateInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
    this.checkIdleConsumer();
    const out: T[] = [];
    this.rx.attempt(() => this.manyAttempt(out, max));
    return out;
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
    if (typeof handler !== 'function') invalidArgument('poll needs a handler function');
    if (limit !== Number.POSITIVE_INFINITY) validateInteger(limit, 'limit', 0, Number.MAX_SAFE_INTEGER);
    this.checkIdleConsumer();
    const rx = this.rx;
    let n = 0;
    try {
      while (n < limit && rx.step(Number.POSITIVE_INFINITY, limit - n) !== NONE) {
        n++;
        handler(rx.buf, rx.off, rx.len);
      }
    } finally {
      rx.release();
    }
    return n;
  }

  /**
   * Waits until a message may be ready for this receiver (poll may still find none: another
   * receiver took it, or it is part of a larger message). CLOSED once closed and drained.
   */
  waitReadable(o?: WaitOptions): void {
    const timeout = validateWaitOptions(o);
    this.checkIdleConsumer();
    if (this.rx.readable()) return;
    runBlocking(this.recvSteps(new Deadline(timeout), this.readableFn), this.waiter, this.i32);
  }

  /** The async form of waitReadable. */
  async waitReadableAsync(o?: AsyncWaitOptions): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdleConsumer();
    throwIfAborted(signal);
    if (this.rx.readable()) return;
    await runAsync(this.recvSteps(new Deadline(timeout), this.readableFn), this.waiter, this.i32, signal);
  }

  /** `for await (const m of channel)`: receives until the channel is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      try {
        yield await this.recvAsync();
      } catch (e) {
        if (ShmkitError.is(e, 'CLOSED')) return;
        throw e;
      }
    }
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
  static unregisterToken(region: Region, token: number): void {
    unregisterProducer(Channel.attach(region).ring, token);
  }

  /**
   * Stops counting this Channel object's thread as a producer, so that its exit is not taken for
   * a crash (receivers get PEER_DEAD only when every registered producer died). Segment.close()
   * calls it; sending again registers again.
   */
  unregister(): void {
    this.checkIdleProducer();
    this.tx.unregister();
  }

  /**
   * `using ch = Channel.from(handle)`: at the end of the scope this object lets go — it stops
   * counting as a producer and drops partly received messages. The channel stays open for every
   * other thread: call close() to end it for everyone.
   */
  [Symbol.dispose](): void {
    if (this.claimed >= 0) this.cancelClaim();
    this.peeked = false;
    this.tx.unregister();
    this.rx.dispose();
  }

  // ---- zero copy (one frame) ----

  /**
   * Claims room for a message of up to `size` bytes (at most maxFrameSize) and returns it as a
   * view into the ring: fill it in place, then `publish(length)`. Blocks while the ring is full.
   * One claim at a time per Channel object; the view must not be used after publish or cancelClaim.
   */
  claim(size: number, o?: WaitOptions): Uint8Array {
    const timeout = validateWaitOptions(o);
    this.checkClaimSize(size);
    const off = this.tx.tryClaimOne(size);
    if (off >= 0) return this.claimView(off, size);
    return this.claimView(
      runBlocking(this.tx.claimSteps(size, new Deadline(timeout)), this.waiter, this.i32),
      size,
    );
  }

  /** claim without waiting: undefined when the ring has no room now. */
  tryClaim(size: number): Uint8Array | undefined {
    this.checkClaimSize(size);
    const off = this.tx.tryClaimOne(size);
    return off < 0 ? undefined : this.claimView(off, size);
  }

  /** The async form of claim. */
  async claimAsync(size: number, o?: AsyncWaitOptions): Promise<Uint8Array> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkClaimSize(size);
    throwIfAborted(signal);
    const off = this.tx.tryClaimOne(size);
    if (off >= 0) return this.claimView(off, size);
    const at = await runAsync(this.tx.claimSteps(size, new Deadline(timeout)), this.waiter, this.i32, signal);
    return this.claimView(at, size);
  }

  /** Publishes the claimed message with its first `length` bytes (default: all it claimed). */
  publish(length?: number): void {
    if (this.claimed < 0) invalidArgument('publish() without a claim');
    const len =
      length === undefined ? this.claimedLen : validateInteger(length, 'length', 0, this.claimedLen);
    this.claimed = -1;
    this.tx.publishOne(len);
  }

  /** Gives the claimed room back without sending anything. */
  cancelClaim(): void {
    if (this.claimed < 0) invalidArgument('cancelClaim() without a claim');
    this.claimed = -1;
    this.tx.abandonOne();
  }

  /**
   * Returns the next message as a view, without copying it out of the ring (a message larger than
   * one frame is reassembled first), blocking while the ring is empty: read it, then `release()`.
   * The view must not be used after release. CLOSED once closed and drained.
   */
  peek(o?: WaitOptions): Uint8Array {
    const timeout = validateWaitOptions(o);
    this.checkIdleConsumer();
    const v = this.peekAttempt();
    if (v !== NOT_YET) return v;
    return runBlocking(this.recvSteps(new Deadline(timeout), this.peekFn), this.waiter, this.i32);
  }

  /** peek without waiting: undefined when nothing is ready. */
  tryPeek(): Uint8Array | undefined {
    this.checkIdleConsumer();
    const v = this.rx.attempt(this.peekFn);
    return v === NOT_YET ? undefined : v;
  }

  /** The async form of peek. */
  async peekAsync(o?: AsyncWaitOptions): Promise<Uint8Array> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdleConsumer();
    throwIfAborted(signal);
    const v = this.peekAttempt();
    if (v !== NOT_YET) return v;
    return runAsync(this.recvSteps(new Deadline(timeout), this.peekFn), this.waiter, this.i32, signal);
  }

  /** Releases the message returned by peek; its room goes back to the senders. */
  release(): void {
    if (!this.peeked) invalidArgument('release() without a peeked message');
    this.peeked = false;
    this.rx.release();
  }

  // ---- internals ----

  declare private peekFn: () => Uint8Array | typeof NOT_YET;
  declare private readableFn: () => true | typeof NOT_YET;

  private setup(plain: Codec<T>): void {
    const ring = new RingMemory(this.i32, this.region.bytes(), this.waiter);
    this.ring = ring;
    const codec = this.withStructures(plain);
    this.codec = codec;
    const slice = this.identity.livenessSliceMs;
    this.tx = new Sender(ring, codec, this.identity, {
      i32: this.i32,
      signal: SPACE_SIGNAL,
      sleepers: SEND_SLEEPERS,
      sliceMs: slice,
      what: 'Channel send',
    });
    this.rx = new Receiver(ring, codec, this.identity);
    this.recvCtx = {
      i32: this.i32,
      signal: DATA_SIGNAL,
      sleepers: RECV_SLEEPERS,
      sliceMs: slice,
      what: 'Channel recv',
    };
    this.recvPolicy = new SpinPolicy();
    this.claimed = -1;
    this.claimedLen = 0;
    this.peeked = false;
    // Bound once here: attach() creates objects without running the constructor or field initializers.
    this.takeFn = () => this.rx.tryTake();
    this.peekFn = () => this.peekAttempt();
    this.readableFn = () => (this.rx.readable() ? true : NOT_YET);
  }

  /**
   * The built-in msgpack codec bound to this channel's structures table, when it has one (see
   * msgpack-structures.ts); any other codec as it is.
   */
  private withStructures(codec: Codec<T>): Codec<T> {
    if ((Atomics.load(this.i32, FLAGS) & FLAG_STRUCTURES) === 0 || codec.name !== 'msgpack') return codec;
    const ext = this.ring.extension;
    if (ext === undefined || ext.byteLength < STRUCTURES_BYTES) {
      throw new ShmkitError(
        'CORRUPT',
        'the channel says it has a msgpack structures table, but its memory ends before it',
      );
    }
    return msgpackCodec<T>({ structures: new SharedStructures(this.region.buffer, ext.byteOffset) });
  }

  /** Waits for `take` to produce something (see wake.ts), with the repairs of a quiet slice. */
  private recvSteps<R>(deadline: Deadline, take: () => R | typeof NOT_YET): WaitSteps<R> {
    return spinThenSleep(
      this.recvCtx,
      () => this.rx.attempt(take),
      deadline,
      this.recvPolicy,
      () => this.rx.repair(take),
    );
  }

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

  private claimView(off: number, size: number): Uint8Array {
    this.claimed = off;
    this.claimedLen = size;
    return this.ring.u8.subarray(off, off + size);
  }

  private checkClaimSize(size: number): void {
    this.checkIdleProducer();
    validateInteger(size, 'size', 0, this.ring.maxFrame);
  }

  private checkTarget(target: Uint8Array): void {
    if (!(target instanceof Uint8Array)) invalidArgument('the target must be a Uint8Array');
    this.checkIdleConsumer();
  }

  private checkIdleProducer(): void {
    if (this.claimed >= 0)
      invalidArgument('this Channel object has a claim outstanding: publish() or cancelClaim() first');
  }

  private checkIdleConsumer(): void {
    if (this.peeked) invalidArgument('this Channel object has a peeked message: release() it first');
  }
}

export { CHANNEL_LIMITS, type ChannelHandle, type ChannelOptions, type PollHandler };
