/**
 * Channel: messages between threads (and, in a segment, processes) through a framed byte ring.
 * See layout.ts for the memory layout, producer.ts / consumer.ts for the ring algorithms.
 *
 * Waiting: a receiver that finds nothing spins briefly, then registers in `recvSleepers`, tries
 * once more, and sleeps on `dataSignal` with the value it read before its first try. A producer
 * that publishes bumps the signal only when a receiver is registered, so the fast path never
 * wakes anyone (and never makes a system call). The second try after registering closes the
 * race with a publish that happened just before the registration. Senders wait for room the same
 * way on `spaceSignal` / `sendSleepers`.
 */
import {
  type AsyncWaitOptions,
  attach,
  bindNew,
  Deadline,
  type Handle,
  invalidArgument,
  publishTag,
  type Region,
  regionFromHandle,
  runAsync,
  runBlocking,
  SharedObject,
  ShmkitError,
  throwIfAborted,
  timeoutError,
  validateAsyncOptions,
  validateInteger,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';
import { type Codec, type CodecName, msgpackCodec, resolveCodec } from './codec.js';
import { type Consumer, MultiConsumer, releaseDeadClaim, SingleConsumer } from './consumer.js';
import {
  CAPACITY,
  CHANNEL_TAG,
  CLOSED,
  DATA_SIGNAL,
  FLAG_MANY_CONSUMERS,
  FLAG_MANY_PRODUCERS,
  FLAG_STRUCTURES,
  FLAGS,
  HEADER_BYTES,
  LAYOUT_VERSION,
  MAX_CAPACITY,
  MAX_MESSAGE,
  MIN_CAPACITY,
  marksBytes,
  maxMessageFor,
  RECV_SLEEPERS,
  SEND_SLEEPERS,
  SPACE_SIGNAL,
  VERSION,
} from './layout.js';
import { producersDead, registerProducer, skipDeadClaim, unregisterProducer } from './liveness.js';
import { initStructures, SharedStructures, STRUCTURES_BYTES } from './msgpack-structures.js';
import { MultiProducer, type Producer, SingleProducer } from './producer.js';
import { type FrameInfo, RingMemory } from './ring-memory.js';

/**
 * How long a waiting sender or receiver keeps trying before it sleeps. Waking a sleeper costs a
 * system call on each side and tens of microseconds here, while a peer running on another core
 * answers within a few microseconds: spinning first keeps ping-pong traffic awake. The budget
 * adapts per Channel object (halved after a wait that had to sleep, grown back after one the spin
 * caught): when the cores are oversubscribed, spinning only delays the peer it waits for, and a
 * fixed budget shorter than a wake-up makes every hop pay two wake-ups.
 * The clock is read every SPIN_CHECK tries.
 */
const SPIN_MAX_MS = 0.2;
const SPIN_MIN_MS = 0.005;
const SPIN_CHECK = 64;

/** Options of the Channel constructor. */
export interface ChannelOptions<T> {
  /** Bytes of the ring, a power of two from 256 to 2^30 (default 1 MiB). Messages up to half of it fit. */
  capacity?: number;
  /** 'bytes' (default), 'utf8', 'msgpack', or a Codec object. */
  codec?: CodecName | Codec<T>;
  /** 'one' (default): a single thread sends at a time — the fast path, no CAS. 'many': any number. */
  producers?: 'one' | 'many';
  /** 'one' (default): a single thread receives at a time. 'many': each message goes to exactly one receiver. */
  consumers?: 'one' | 'many';
  /** Place the channel in this region (at least Channel.byteLength(capacity) bytes). */
  region?: Region;
}

/** A channel's handle: the shared memory and the codec name. */
export interface ChannelHandle extends Handle {
  readonly codec: string;
}

/**
 * A channel of messages over shared memory: post `channel.handle` to a worker, attach with
 * `Channel.from(handle)`, then `send` on one side and `recv` on the other. Messages arrive
 * exactly once, in the order each producer sent them. A full ring makes `send` wait (or
 * `trySend` return false): memory never grows. `close()` lets receivers drain what was sent,
 * after which they get CLOSED.
 *
 * Blocking methods block the calling thread (use them in workers); async ones keep the event
 * loop running. Send and receive allocate nothing on the ring side; `recv` returns a value the
 * receiver owns (the codec copies it out of the ring).
 *
 * @example
 * ```ts
 * const ch = new Channel<string>({ codec: 'utf8' });
 * new Worker('./consumer.js', { workerData: ch.handle }); // there: Channel.from(workerData)
 * ch.send('hello');
 * ch.close();
 * ```
 */
export class Channel<T = Uint8Array> extends SharedObject implements AsyncIterable<T> {
  /** Bytes before the ring. */
  static readonly HEADER_BYTES = HEADER_BYTES;

  declare private codec: Codec<T>;
  declare private ring: RingMemory;
  declare private producer: Producer | undefined;
  declare private consumer: Consumer | undefined;
  declare private frame: FrameInfo;
  /** Payload offset and length of the outstanding zero-copy claim, or -1. */
  declare private claimed: number;
  declare private claimedLen: number;
  declare private peeked: boolean;

  constructor(o?: ChannelOptions<T>) {
    const capacity = validateInteger(o?.capacity ?? 1 << 20, 'capacity', MIN_CAPACITY, MAX_CAPACITY);
    if ((capacity & (capacity - 1)) !== 0)
      invalidArgument(`capacity must be a power of two, got ${capacity}`);
    const producers = o?.producers ?? 'one';
    const consumers = o?.consumers ?? 'one';
    if (producers !== 'one' && producers !== 'many') invalidArgument(`producers must be 'one' or 'many'`);
    if (consumers !== 'one' && consumers !== 'many') invalidArgument(`consumers must be 'one' or 'many'`);
    const codec = resolveCodec<T>(o?.codec);
    super();
    const structures = o?.codec === 'msgpack';
    const region = bindNew(this, Channel.byteLength(capacity, { consumers, codec: o?.codec }), o?.region);
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
    if (structures) initStructures(region.buffer, region.byteOffset + structuresAt(capacity, consumers));
    Atomics.store(i32, MAX_MESSAGE, maxMessageFor(capacity));
    if (consumers === 'many') {
      // Marks start odd: "not released" for every position (positions are multiples of 16).
      new Int32Array(
        region.buffer,
        region.byteOffset + HEADER_BYTES + capacity,
        marksBytes(capacity) / 4,
      ).fill(1);
    }
    publishTag(region, CHANNEL_TAG);
    this.setup(codec);
  }

  /**
   * Bytes a channel with a ring of `capacity` bytes occupies (more with many consumers, and with
   * codec 'msgpack', whose record structures live beside the ring).
   */
  static byteLength(
    capacity: number,
    o?: { consumers?: 'one' | 'many'; codec?: CodecName | string | Codec<unknown> | undefined },
  ): number {
    return structuresAt(capacity, o?.consumers ?? 'one') + (o?.codec === 'msgpack' ? STRUCTURES_BYTES : 0);
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

  /** The largest message (encoded bytes) that fits in one frame; larger ones are TOO_LARGE. */
  get maxMessageSize(): number {
    return this.ring.maxMessage;
  }

  /** Whether close() was called (by any thread). */
  get closed(): boolean {
    return Atomics.load(this.i32, CLOSED) !== 0;
  }

  // ---- sending ----

  /** Sends `value`, blocking while the ring is full. CLOSED after close(); TOO_LARGE past maxMessageSize. */
  send(value: T, o?: WaitOptions): void {
    const timeout = validateWaitOptions(o);
    this.checkIdleProducer();
    const bytes = this.prepare(value);
    const len = bytes === undefined ? this.directLength : bytes.length;
    const off = this.closedOrClaim(len);
    if (off >= 0) this.fill(value, bytes, off, len);
    else
      runBlocking(
        this.claimSteps(len, new Deadline(timeout), (at) => this.fill(value, bytes, at, len)),
        this.waiter,
        this.i32,
      );
  }

  /** Sends `value` if the ring has room now; false if it is full. CLOSED after close(). */
  trySend(value: T): boolean {
    this.checkIdleProducer();
    const bytes = this.prepare(value);
    const len = bytes === undefined ? this.directLength : bytes.length;
    const off = this.closedOrClaim(len);
    if (off < 0) return false;
    this.fill(value, bytes, off, len);
    return true;
  }

  /** The async form of send: awaits room without blocking the event loop. */
  async sendAsync(value: T, o?: AsyncWaitOptions): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdleProducer();
    throwIfAborted(signal);
    let bytes = this.prepare(value);
    const len = bytes === undefined ? this.directLength : bytes.length;
    const off = this.closedOrClaim(len);
    if (off >= 0) {
      this.fill(value, bytes, off, len);
      return;
    }
    // The codec may reuse its output buffer for the next send made while we wait: keep a copy.
    if (bytes !== undefined) bytes = bytes.slice();
    const encoded = bytes;
    await runAsync(
      this.claimSteps(len, new Deadline(timeout), (at) => this.fill(value, encoded, at, len)),
      this.waiter,
      this.i32,
      signal,
    );
  }

  // ---- receiving ----

  /** Receives the next message, blocking while the ring is empty. CLOSED once closed and drained. */
  recv(o?: WaitOptions): T {
    const timeout = validateWaitOptions(o);
    this.checkIdleConsumer();
    if (this.consumerSide().tryPeek(this.frame)) return this.take();
    return runBlocking(this.frameSteps(new Deadline(timeout), this.takeFn), this.waiter, this.i32);
  }

  /** Receives a message if one is ready; undefined otherwise. CLOSED once closed and drained. */
  tryRecv(): T | undefined {
    this.checkIdleConsumer();
    if (!this.consumerSide().tryPeek(this.frame)) {
      if (!this.closed || !this.consumerSide().tryPeek(this.frame)) {
        if (this.closed) throw closedError();
        return undefined;
      }
    }
    return this.take();
  }

  /** The async form of recv. */
  async recvAsync(o?: AsyncWaitOptions): Promise<T> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdleConsumer();
    throwIfAborted(signal);
    if (this.consumerSide().tryPeek(this.frame)) return this.take();
    return runAsync(this.frameSteps(new Deadline(timeout), this.takeFn), this.waiter, this.i32, signal);
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
    if (this.producer === undefined) return;
    unregisterProducer(this.ring, this.identity.self());
    this.producer = undefined;
  }

  // ---- zero copy ----

  /**
   * Claims room for a message of up to `size` bytes and returns it as a view into the ring: fill
   * it in place, then `publish(length)`. Blocks while the ring is full. One claim at a time per
   * Channel object; the view must not be used after publish or cancelClaim.
   */
  claim(size: number, o?: WaitOptions): Uint8Array {
    const timeout = validateWaitOptions(o);
    this.checkClaimSize(size);
    const off = this.closedOrClaim(size);
    if (off >= 0) return this.claimView(off, size);
    return runBlocking(
      this.claimSteps(size, new Deadline(timeout), (at) => this.claimView(at, size)),
      this.waiter,
      this.i32,
    );
  }

  /** claim without waiting: undefined when the ring has no room now. */
  tryClaim(size: number): Uint8Array | undefined {
    this.checkClaimSize(size);
    const off = this.closedOrClaim(size);
    return off < 0 ? undefined : this.claimView(off, size);
  }

  /** The async form of claim. */
  async claimAsync(size: number, o?: AsyncWaitOptions): Promise<Uint8Array> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkClaimSize(size);
    throwIfAborted(signal);
    const off = this.closedOrClaim(size);
    if (off >= 0) return this.claimView(off, size);
    return runAsync(
      this.claimSteps(size, new Deadline(timeout), (at) => this.claimView(at, size)),
      this.waiter,
      this.i32,
      signal,
    );
  }

  /** Publishes the claimed message with its first `length` bytes (default: all it claimed). */
  publish(length?: number): void {
    if (this.claimed < 0) invalidArgument('publish() without a claim');
    const len =
      length === undefined ? this.claimedLen : validateInteger(length, 'length', 0, this.claimedLen);
    this.claimed = -1;
    this.producerSide().commit(len);
  }

  /** Gives the claimed room back without sending anything. */
  cancelClaim(): void {
    if (this.claimed < 0) invalidArgument('cancelClaim() without a claim');
    this.claimed = -1;
    this.producerSide().abandon();
  }

  /**
   * Returns the next message as a view into the ring, without copying, blocking while the ring is
   * empty: read it in place, then `release()`. The view must not be used after release. CLOSED
   * once closed and drained.
   */
  peek(o?: WaitOptions): Uint8Array {
    const timeout = validateWaitOptions(o);
    this.checkIdleConsumer();
    if (this.consumerSide().tryPeek(this.frame)) return this.peekView();
    return runBlocking(this.frameSteps(new Deadline(timeout), this.peekFn), this.waiter, this.i32);
  }

  /** peek without waiting: undefined when nothing is ready. */
  tryPeek(): Uint8Array | undefined {
    this.checkIdleConsumer();
    if (this.consumerSide().tryPeek(this.frame)) return this.peekView();
    if (this.closed) {
      if (this.consumerSide().tryPeek(this.frame)) return this.peekView();
      throw closedError();
    }
    return undefined;
  }

  /** The async form of peek. */
  async peekAsync(o?: AsyncWaitOptions): Promise<Uint8Array> {
    const { timeout, signal } = validateAsyncOptions(o);
    this.checkIdleConsumer();
    throwIfAborted(signal);
    if (this.consumerSide().tryPeek(this.frame)) return this.peekView();
    return runAsync(this.frameSteps(new Deadline(timeout), this.peekFn), this.waiter, this.i32, signal);
  }

  /** Releases the message returned by peek; its room goes back to the senders. */
  release(): void {
    if (!this.peeked) invalidArgument('release() without a peeked message');
    this.peeked = false;
    this.consumerSide().release(this.frame);
  }

  // ---- internals ----

  private setup(codec: Codec<T>): void {
    this.ring = new RingMemory(this.i32, this.region.bytes(), this.waiter);
    this.codec = this.withStructures(codec);
    this.producer = undefined;
    this.consumer = undefined;
    this.frame = { pos: 0, size: 0, kind: 0, len: 0, offset: 0 };
    this.claimed = -1;
    this.claimedLen = 0;
    this.peeked = false;
    this.directLength = 0;
    this.spinMs = SPIN_MAX_MS;
    // Bound once here: attach() creates objects without running the constructor or field initializers.
    this.takeFn = () => this.take();
    this.peekFn = () => this.peekView();
  }

  /**
   * The built-in msgpack codec bound to this channel's structures table, when it has one (see
   * msgpack-structures.ts); any other codec as it is.
   */
  private withStructures(codec: Codec<T>): Codec<T> {
    if ((Atomics.load(this.i32, FLAGS) & FLAG_STRUCTURES) === 0 || codec.name !== 'msgpack') return codec;
    const r = this.region;
    const at = structuresAt(this.ring.capacity, this.ring.manyConsumers ? 'many' : 'one');
    if (at + STRUCTURES_BYTES > r.byteLength) {
      throw new ShmkitError(
        'CORRUPT',
        'the channel says it has a msgpack structures table, but its memory ends before it',
      );
    }
    return msgpackCodec<T>({ structures: new SharedStructures(r.buffer, r.byteOffset + at) });
  }

  declare private directLength: number;
  /** This object's current spin budget, in ms (see SPIN_MAX_MS). */
  declare private spinMs: number;

  private spinCaught(): void {
    if (this.spinMs < SPIN_MAX_MS) this.spinMs = Math.min(SPIN_MAX_MS, this.spinMs * 1.25);
  }

  private spinMissed(): void {
    this.spinMs = Math.max(SPIN_MIN_MS, this.spinMs / 2);
  }

  private producerSide(): Producer {
    if (this.producer === undefined) {
      const token = this.identity.self();
      registerProducer(this.ring, this.identity);
      this.producer = this.ring.manyProducers
        ? new MultiProducer(this.ring, token)
        : new SingleProducer(this.ring, token);
    }
    return this.producer;
  }

  private consumerSide(): Consumer {
    if (this.consumer === undefined) {
      this.consumer = this.ring.manyConsumers
        ? new MultiConsumer(this.ring, this.identity.self())
        : new SingleConsumer(this.ring);
    }
    return this.consumer;
  }

  /**
   * Encodes `value`. Returns the bytes to copy, or undefined when the codec will encode straight
   * into the ring; then `directLength` holds the room to claim.
   */
  private prepare(value: T): Uint8Array | undefined {
    const c = this.codec;
    if (c.encodeInto !== undefined && c.maxEncodedSize !== undefined) {
      const max = c.maxEncodedSize(value);
      if (max >= 0 && max <= this.ring.maxMessage) {
        this.directLength = max;
        return undefined;
      }
    }
    const bytes = c.encode(value);
    if (!(bytes instanceof Uint8Array))
      invalidArgument(`codec ${c.name} returned ${typeof bytes}, not a Uint8Array`);
    if (bytes.length > this.ring.maxMessage) {
      throw new ShmkitError(
        'TOO_LARGE',
        `a message of ${bytes.length} bytes does not fit this channel (max ${this.ring.maxMessage}; use a capacity of at least twice the largest message)`,
      );
    }
    return bytes;
  }

  /** Copies (or encodes) the message into the claimed room at `off` and publishes it. */
  private fill(value: T, bytes: Uint8Array | undefined, off: number, room: number): void {
    const p = this.producerSide();
    if (bytes === undefined) {
      let n: number;
      try {
        n = this.codec.encodeInto!(value, this.ring.u8.subarray(off, off + room));
      } catch (e) {
        p.abandon();
        throw e;
      }
      p.commit(n);
      return;
    }
    this.ring.u8.set(bytes, off);
    p.commit(bytes.length);
  }

  private closedOrClaim(len: number): number {
    if (Atomics.load(this.i32, CLOSED) !== 0) throw closedError();
    return this.producerSide().tryClaim(len);
  }

  /**
   * Waits for room for `len` bytes, then hands the claimed offset to `onClaim` before returning:
   * in the same synchronous step, so no other task of this thread can see the claim half done.
   */
  private *claimSteps<R>(len: number, deadline: Deadline, onClaim: (off: number) => R): WaitSteps<R> {
    const i32 = this.i32;
    const p = this.producerSide();
    for (let i = 1, until = -1; ; i++) {
      const off = this.closedOrClaim(len);
      if (off >= 0) {
        this.spinCaught();
        return onClaim(off);
      }
      if (i % SPIN_CHECK === 0) {
        const now = performance.now();
        if (until < 0) until = now + Math.min(this.spinMs, deadline.remaining());
        else if (now >= until) break;
      }
    }
    this.spinMissed();
    for (;;) {
      const signal = Atomics.load(i32, SPACE_SIGNAL);
      const off = this.closedOrClaim(len);
      if (off >= 0) return onClaim(off);
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('Channel send', deadline.timeout);
      Atomics.add(i32, SEND_SLEEPERS, 1);
      try {
        // Registered: a consumer that frees room from now on will bump the signal. Try once more
        // for room freed before it could see us.
        const again = p.tryClaim(len);
        if (again >= 0) return onClaim(again);
        // Sleep in liveness slices where peers can die (processes): a consumer that died holding
        // the frame at head would otherwise keep the room behind it from ever coming free.
        const r = yield {
          index: SPACE_SIGNAL,
          expected: signal,
          timeout: Math.min(left, this.identity.livenessSliceMs),
        };
        if (r === 'timed-out') releaseDeadClaim(this.ring, this.identity);
      } finally {
        Atomics.sub(i32, SEND_SLEEPERS, 1);
      }
    }
  }

  /**
   * Waits for the next message, then hands it to `onFrame` (take or peekView) in the same
   * synchronous step as finding it, so no other task of this thread can take it in between.
   */
  private *frameSteps<R>(deadline: Deadline, onFrame: () => R): WaitSteps<R> {
    const i32 = this.i32;
    const c = this.consumerSide();
    for (let i = 1, until = -1; ; i++) {
      if (c.tryPeek(this.frame)) {
        this.spinCaught();
        return onFrame();
      }
      if (i % SPIN_CHECK === 0) {
        if (Atomics.load(i32, CLOSED) !== 0) break;
        const now = performance.now();
        if (until < 0) until = now + Math.min(this.spinMs, deadline.remaining());
        else if (now >= until) break;
      }
    }
    this.spinMissed();
    for (;;) {
      const signal = Atomics.load(i32, DATA_SIGNAL);
      if (c.tryPeek(this.frame)) return onFrame();
      if (Atomics.load(i32, CLOSED) !== 0) {
        // Closed: everything sent before close() is visible now; drain it, then report CLOSED.
        if (c.tryPeek(this.frame)) return onFrame();
        throw closedError();
      }
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('Channel recv', deadline.timeout);
      Atomics.add(i32, RECV_SLEEPERS, 1);
      let r: string;
      try {
        if (c.tryPeek(this.frame)) return onFrame();
        // Sleep in slices where peers can die (processes), to notice it within one slice.
        r = yield {
          index: DATA_SIGNAL,
          expected: signal,
          timeout: Math.min(left, this.identity.livenessSliceMs),
        };
      } finally {
        Atomics.sub(i32, RECV_SLEEPERS, 1);
      }
      if (r === 'timed-out' && this.checkPeers()) return onFrame();
    }
  }

  declare private takeFn: () => T;
  declare private peekFn: () => Uint8Array;

  /**
   * After a quiet slice: repairs a frame a dead producer left half written, and reports
   * PEER_DEAD once nothing is left to read and every registered producer has died. Returns true
   * when it found a message (in this.frame) that must be delivered.
   */
  private checkPeers(): boolean {
    if (skipDeadClaim(this.ring, this.identity)) return false;
    if (releaseDeadClaim(this.ring, this.identity)) return false;
    if (!producersDead(this.ring, this.identity)) return false;
    if (this.consumerSide().tryPeek(this.frame)) return true;
    throw new ShmkitError(
      'PEER_DEAD',
      'every producer of this channel died without closing it, and it is drained',
    );
  }

  private take(): T {
    const f = this.frame;
    let value: T;
    try {
      const c = this.codec;
      value =
        c.decodeAt !== undefined
          ? c.decodeAt(this.ring.u8, f.offset, f.offset + f.len)
          : c.decode(this.ring.u8.subarray(f.offset, f.offset + f.len));
    } finally {
      // The message is consumed even if it cannot be decoded: a bad message must not wedge the ring.
      this.consumerSide().release(f);
    }
    return value;
  }

  private claimView(off: number, size: number): Uint8Array {
    this.claimed = off;
    this.claimedLen = size;
    return this.ring.u8.subarray(off, off + size);
  }

  private peekView(): Uint8Array {
    this.peeked = true;
    return this.ring.u8.subarray(this.frame.offset, this.frame.offset + this.frame.len);
  }

  private checkClaimSize(size: number): void {
    this.checkIdleProducer();
    validateInteger(size, 'size', 0, this.ring.maxMessage);
  }

  private checkIdleProducer(): void {
    if (this.claimed >= 0)
      invalidArgument('this Channel object has a claim outstanding: publish() or cancelClaim() first');
  }

  private checkIdleConsumer(): void {
    if (this.peeked) invalidArgument('this Channel object has a peeked message: release() it first');
  }
}

/** Byte offset of the msgpack structures table in a channel's region: after the ring and marks. */
function structuresAt(capacity: number, consumers: 'one' | 'many'): number {
  return HEADER_BYTES + capacity + (consumers === 'many' ? marksBytes(capacity) : 0);
}

function closedError(): ShmkitError {
  return new ShmkitError('CLOSED', 'the channel is closed');
}
