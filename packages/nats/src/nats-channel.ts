/**
 * NatsChannel: the Channel's semantics (codecs, sendAsync/recvAsync, async iteration, close()
 * then CLOSED once drained, timeouts and AbortSignal, ShmkitError codes) on a NATS subject, so
 * processes on different machines talk the way threads and processes on one machine do.
 * core-mode.ts and durable-mode.ts hold the two delivery modes and their guarantees.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type Codec, type CodecName, resolveCodec, untilClosed, utf8Codec } from '@shmkit/channel';
import {
  type AsyncWaitOptions,
  Deadline,
  invalidArgument,
  ShmkitError,
  throwIfAborted,
  validateAsyncOptions,
  validateInteger,
  validateTimeout,
} from '@shmkit/core';
import { CoreMode } from './core-mode.js';
import { openDurable } from './durable-mode.js';
import { mapNatsError } from './errors.js';
import type { Incoming, Mode } from './mode.js';
import { closedSubject, streamNameFor, validateName, validateSubject } from './subject.js';
import { bounded } from './wait.js';

/** Options of {@link NatsChannel.open}. */
export interface NatsChannelOptions<T> {
  /** 'bytes' (default), 'utf8', 'msgpack', or a Codec object (a struct's `codec`, for example). */
  codec?: CodecName | Codec<T>;
  /**
   * false (default): core NATS, at most once, the fastest. true: a JetStream stream: stored,
   * acknowledged, redelivered after a receiver crash, duplicates removed by message id, and
   * backpressure when the stream is full.
   */
  durable?: boolean;
  /** Core mode: the queue group receivers share (default 'shmkit'): each message reaches one of them. */
  group?: string;
  /**
   * Messages one receiver buffers (default 1024 durable, 65536 core). Durable: the consumer's
   * max_ack_pending, so the server stops delivering past it. Core: newer messages are dropped
   * (counted in `dropped`) while the buffer is full.
   */
  maxPending?: number;
  /** Durable: the stream's name (default `SHMKIT_<subject with . as _>`). */
  stream?: string;
  /** Durable: the durable consumer receivers share (default 'shmkit'). */
  consumer?: string;
  /** Durable: messages the stream holds before senders wait (default 100000). */
  maxMessages?: number;
  /** Durable: ms before an unacknowledged message is redelivered (default 30000). */
  ackWait?: number;
  /** Bound of open() itself (JetStream set-up), ms (default 10000). */
  timeout?: number;
}

/**
 * A channel on a NATS subject. Open it in every process that takes part, with the same subject
 * and options; each message goes to one receiver.
 *
 * @example
 * ```ts fragment
 * import { connect } from '@nats-io/transport-node';
 * import { NatsChannel } from '@shmkit/nats';
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const ch = await NatsChannel.open<{ id: number }>(nc, 'orders', { codec: 'msgpack', durable: true });
 * await ch.sendAsync({ id: 1 });
 * await ch.close();                        // receivers get what was sent, then CLOSED
 * for await (const order of ch) console.log(order.id);
 * ```
 */
export class NatsChannel<T = Uint8Array> implements AsyncIterable<T>, AsyncDisposable {
  private closedSeen = false;
  private detached = false;
  private lastWasRedelivered = false;

  private constructor(
    private readonly nc: NatsConnection,
    /** The subject messages go to. */
    readonly subject: string,
    private readonly codec: Codec<T>,
    private readonly mode: Mode,
    private readonly notices: Subscription,
  ) {}

  /**
   * Opens the channel on `subject` over the connection `nc` (from `connect()` of
   * `@nats-io/transport-node`). Durable mode creates the stream and the consumer if needed.
   * INVALID_ARGUMENT for a bad subject or option, UNSUPPORTED when durable mode meets a server
   * without JetStream, INCOMPATIBLE when the stream name is taken by something else, TIMEOUT.
   */
  static async open<T = Uint8Array>(
    nc: NatsConnection,
    subject: string,
    o: NatsChannelOptions<T> = {},
  ): Promise<NatsChannel<T>> {
    if (typeof o !== 'object' || o === null) invalidArgument('options must be an object');
    validateSubject(subject);
    const codec = resolveCodec<T>(o.codec);
    const durable = o.durable ?? false;
    if (typeof durable !== 'boolean') invalidArgument('durable must be true or false');
    const openTimeout = validateTimeout(o.timeout ?? 10_000);
    if (nc === null || typeof nc !== 'object' || typeof nc.publish !== 'function') {
      invalidArgument('nc must be a NatsConnection (connect() of @nats-io/transport-node)');
    }
    if (nc.isClosed()) throw new ShmkitError('CLOSED', 'the NATS connection is closed');
    const senderId = randomBytes(8).toString('hex');
    let mode: Mode;
    if (durable) {
      mode = await openDurable(
        nc,
        subject,
        {
          stream: o.stream === undefined ? streamNameFor(subject) : validateName(o.stream, 'stream'),
          consumer: o.consumer === undefined ? 'shmkit' : validateName(o.consumer, 'consumer'),
          maxPending: validateInteger(o.maxPending ?? 1024, 'maxPending', 1, 1 << 20),
          maxMessages: validateInteger(o.maxMessages ?? 100_000, 'maxMessages', 1, 2 ** 31 - 1),
          ackWait: validateInteger(o.ackWait ?? 30_000, 'ackWait', 100, 3_600_000),
          openTimeout,
        },
        senderId,
      );
    } else {
      const group = o.group === undefined ? 'shmkit' : validateName(o.group, 'group');
      const maxPending = validateInteger(o.maxPending ?? 65_536, 'maxPending', 1, 1 << 24);
      mode = new CoreMode(nc, subject, group, maxPending, closedSubject(subject));
    }
    let ch: NatsChannel<T> | undefined;
    const notices = nc.subscribe(closedSubject(subject), {
      callback: () => ch?.noticeArrived(),
    });
    ch = new NatsChannel<T>(nc, subject, codec, mode, notices);
    return ch;
  }

  /**
   * Deletes the JetStream stream of a durable channel on `subject` (its messages and its end
   * marker), so the subject can start a new stream. Resolves false when there was none.
   */
  static async remove(nc: NatsConnection, subject: string, o: { stream?: string } = {}): Promise<boolean> {
    validateSubject(subject);
    const stream = o.stream === undefined ? streamNameFor(subject) : validateName(o.stream, 'stream');
    try {
      const jsm = await jetstreamManager(nc);
      return await jsm.streams.delete(stream);
    } catch (e) {
      if (/not found/i.test(String((e as Error)?.message))) return false;
      throw mapNatsError(e, `deleting the stream ${stream}`, { timeout: 0 });
    }
  }

  /** Whether this is a durable (JetStream) channel. */
  get durable(): boolean {
    return this.mode.durable;
  }

  /** The largest encoded message the server takes (its max_payload, less headers); larger: TOO_LARGE. */
  get maxMessageSize(): number {
    return this.mode.maxMessageSize;
  }

  /** Whether the end of the stream has been seen (close() here, or its notice from elsewhere). Can be late. */
  get closed(): boolean {
    return this.closedSeen;
  }

  /** Core mode: messages this receiver dropped because its buffer was full (0 in durable mode). */
  get dropped(): number {
    return this.mode instanceof CoreMode ? this.mode.dropped : 0;
  }

  /** Durable: whether the last message received had been delivered before (to a crashed receiver). */
  get lastRedelivered(): boolean {
    return this.lastWasRedelivered;
  }

  // ---- sending ----

  /**
   * Sends `value`. Core: resolves once handed to the client (flushed to the server every 1024
   * messages). Durable: resolves once the stream stored it; while the stream is full it waits
   * (backpressure). CLOSED after the end of the stream; TOO_LARGE past maxMessageSize.
   */
  async sendAsync(value: T, o?: AsyncWaitOptions): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    throwIfAborted(signal);
    const payload = this.encode(value);
    this.checkOpen();
    await this.mode.send([payload], new Deadline(timeout), signal);
  }

  /**
   * Sends all of `values`, in order; durable mode keeps up to 256 publishes in flight. Returns
   * how many were sent (all of them). A value that cannot be encoded or is TOO_LARGE throws
   * before anything is sent.
   */
  async sendMany(values: readonly T[], o?: AsyncWaitOptions): Promise<number> {
    const { timeout, signal } = validateAsyncOptions(o);
    if (!Array.isArray(values)) invalidArgument('sendMany takes an array');
    throwIfAborted(signal);
    const payloads = values.map((v) => this.encode(v));
    this.checkOpen();
    await this.mode.send(payloads, new Deadline(timeout), signal);
    return payloads.length;
  }

  /**
   * Sends payloads already encoded with this channel's codec, as they are: not copied, so the
   * caller must not touch them until the promise resolves. The tunnel's path (it forwards
   * encoded bytes it owns). TOO_LARGE past maxMessageSize, before anything is sent.
   */
  async sendEncoded(payloads: readonly Uint8Array[], o?: AsyncWaitOptions): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    throwIfAborted(signal);
    for (const p of payloads) {
      if (!(p instanceof Uint8Array)) invalidArgument('sendEncoded takes Uint8Arrays');
      this.checkSize(p.length);
    }
    this.checkOpen();
    await this.mode.send(payloads, new Deadline(timeout), signal);
  }

  // ---- receiving ----

  /**
   * Starts receiving now. recvAsync does it on first use; call it first when senders may start
   * before the first recvAsync (core mode drops messages sent while nobody listens).
   */
  async listen(): Promise<void> {
    if (this.detached) throw new ShmkitError('CLOSED', 'this NatsChannel was detached');
    try {
      await this.mode.listen();
    } catch (e) {
      throw mapNatsError(e, 'subscribing', { timeout: 0 });
    }
  }

  /** Receives the next message. CLOSED once the end of the stream is reached and drained. */
  async recvAsync(o?: AsyncWaitOptions): Promise<T> {
    const [v] = await this.recvMany(1, o);
    return v as T;
  }

  /**
   * Waits for at least one message and returns up to `max` (durable: their acks are confirmed
   * together, one round trip for the batch). CLOSED once the stream ended and is drained.
   */
  async recvMany(max: number, o?: AsyncWaitOptions): Promise<T[]> {
    const items = await this.take(max, o);
    return items.map((it) => this.codec.decode(it.data));
  }

  /**
   * recvMany without decoding: the payloads as they arrived (views into the client's read buffer,
   * owned by the caller from now on). The tunnel's path.
   */
  async recvEncoded(max: number, o?: AsyncWaitOptions): Promise<Uint8Array[]> {
    const items = await this.take(max, o);
    return items.map((it) => it.data);
  }

  private async take(max: number, o?: AsyncWaitOptions): Promise<Incoming[]> {
    validateInteger(max, 'max', 1, 1 << 20);
    const { timeout, signal } = validateAsyncOptions(o);
    throwIfAborted(signal);
    const deadline = new Deadline(timeout);
    await this.listen();
    const q = this.mode.queue;
    while (q.length === 0) {
      if (q.failure !== undefined) throw q.failure;
      if (q.ended) {
        await this.release();
        throw new ShmkitError('CLOSED', `the channel on ${this.subject} is closed`);
      }
      if (this.nc.isClosed()) throw new ShmkitError('CLOSED', 'the NATS connection is closed');
      await bounded(q.changed(), deadline, signal, 'NatsChannel recv');
    }
    const items: Incoming[] = [];
    while (items.length < max) {
      const it = q.shift();
      if (it === undefined) break;
      items.push(it);
    }
    await this.mode.accept(items, deadline);
    this.lastWasRedelivered = items[items.length - 1]!.redelivered;
    return items;
  }

  /** `for await (const v of ch)`: receives until the stream ended and is drained. */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return untilClosed(() => this.recvAsync());
  }

  // ---- ending ----

  /**
   * Ends the stream for everyone: senders get CLOSED from now on, receivers get what was sent
   * before and then CLOSED. Durable: the end is a message in the stream, so receivers that open
   * later see it too. Idempotent.
   */
  async close(o?: AsyncWaitOptions): Promise<void> {
    const { timeout, signal } = validateAsyncOptions(o);
    if (this.closedSeen && !this.mode.durable) return;
    this.closedSeen = true;
    if (this.nc.isClosed()) return;
    const deadline = new Deadline(timeout);
    // The notice (core) or the marker (durable) comes back to this object too, after what was
    // sent before it: its own receive side ends then, not now.
    await this.mode.end(deadline, signal);
  }

  /**
   * Leaves without ending the stream: stops receiving (durable: unread messages go back to the
   * stream at once) and drops this object's subscriptions. `await using` calls it.
   */
  async detach(): Promise<void> {
    await this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.detach();
  }

  // ---- internals ----

  private async release(): Promise<void> {
    if (this.detached) return;
    this.detached = true;
    if (!this.nc.isClosed()) this.notices.unsubscribe();
    await this.mode.detach();
  }

  private noticeArrived(): void {
    this.closedSeen = true;
    // Core mode: the notice is the end of the stream. Durable: the marker in the stream is.
    if (!this.mode.durable) (this.mode as CoreMode).ended();
  }

  private checkOpen(): void {
    if (this.closedSeen) throw new ShmkitError('CLOSED', `the channel on ${this.subject} is closed`);
    if (this.nc.isClosed()) throw new ShmkitError('CLOSED', 'the NATS connection is closed');
  }

  private encode(value: T): Uint8Array {
    const bytes = this.codec.encode(value);
    if (!(bytes instanceof Uint8Array)) {
      invalidArgument(`codec ${this.codec.name} returned ${typeof bytes}, not a Uint8Array`);
    }
    this.checkSize(bytes.length);
    // The client keeps the array until it writes it out, and codecs may reuse their output
    // buffer (msgpack does), as may the caller: send a copy the caller cannot touch.
    return this.codec === (utf8Codec as unknown) ? bytes : bytes.slice();
  }

  private checkSize(length: number): void {
    const max = this.mode.maxMessageSize;
    if (length > max) {
      throw new ShmkitError(
        'TOO_LARGE',
        `a message of ${length} bytes is over this NATS server's limit of ${max} bytes (max_payload${this.mode.durable ? ' less the message-id header' : ''}; raise max_payload in the server configuration)`,
      );
    }
  }
}
