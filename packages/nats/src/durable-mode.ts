/**
 * Durable mode: the channel is a JetStream stream (work-queue retention, file storage) with one
 * shared durable pull consumer, so each message goes to exactly one receiver and is removed once
 * that receiver acknowledges it.
 *
 * - Exactly once into the stream: every message carries `Nats-Msg-Id: <sender id>-<seq>`; a send
 *   whose acknowledgement was lost (timeout, reconnect, server restart) is republished with the
 *   same id and the server drops the duplicate (within the stream's duplicate window).
 * - Exactly once out of it: recv hands a message over only after the server confirmed its ack
 *   (an ack request, retried across reconnects). A receiver that crashes before that leaves the
 *   message unacknowledged, and the server redelivers it after `ackWait`. Ids of messages already
 *   handed over are remembered (a bounded set), so a redelivery to the same receiver is dropped,
 *   and a redelivery of a message still waiting in the receive queue is folded into that copy.
 * - Backpressure: the stream holds at most `maxMessages` (discard new): a full stream rejects a
 *   publish, and the sender waits and retries until its deadline. The consumer's max_ack_pending
 *   bounds what one receiver buffers.
 * - End of stream: close() appends a message with the header `Shmkit-End` (id `end`, so a second
 *   close is a duplicate). A receiver that reaches it stops fetching and gives it back (nak), so
 *   every other receiver reaches it too.
 */
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos, headers as natsHeaders } from '@nats-io/transport-node';
import { type Deadline, ShmkitError } from '@shmkit/core';
import { mapNatsError, maxPayloadOf } from './errors.js';
import { type Incoming, type Mode, plain } from './mode.js';
import { ReceiveQueue } from './queue.js';
import { bounded, pause } from './wait.js';

/** The header that marks the end-of-stream message. */
export const END_HEADER = 'Shmkit-End';
/** Bytes a `Nats-Msg-Id` header adds to a message (HPUB counts headers against max_payload). */
const HEADER_ROOM = 96;
/** Publishes in flight per sendMany window. */
const WINDOW = 256;
/** How many handed-over ids a receiver remembers to drop redeliveries. */
const SEEN_LIMIT = 1 << 17;
const ACK = new TextEncoder().encode('+ACK');
/** ms a pull request waits on the server. */
const PULL_EXPIRES = 1000;
/**
 * Delay of a nak given after this receiver stopped pulling: its last pull request stays on the
 * server until it expires, and a message redelivered into it would go to an inbox nobody reads
 * (and wait a whole ackWait). After the delay, only live receivers' requests are left.
 */
const NAK_AFTER_STOP = PULL_EXPIRES + 500;

export interface DurableOptions {
  stream: string;
  consumer: string;
  maxMessages: number;
  maxPending: number;
  ackWait: number;
  openTimeout: number;
}

export async function openDurable(
  nc: NatsConnection,
  subject: string,
  o: DurableOptions,
  senderId: string,
): Promise<Mode> {
  const deadline = { timeout: o.openTimeout };
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: o.openTimeout });
  } catch (e) {
    throw mapNatsError(e, 'opening JetStream', deadline);
  }
  try {
    await ensureStream(jsm, subject, o);
  } catch (e) {
    if (e instanceof ShmkitError) throw e;
    throw mapNatsError(e, `creating the stream ${o.stream}`, deadline);
  }
  const js = jetstream(nc, { timeout: Math.min(o.openTimeout, 5000) });
  return new DurableMode(nc, js, jsm, subject, o, senderId, maxPayloadOf(nc) - HEADER_ROOM);
}

async function ensureStream(jsm: JetStreamManager, subject: string, o: DurableOptions): Promise<void> {
  try {
    const info = await jsm.streams.info(o.stream);
    const subjects = info.config.subjects ?? [];
    if (
      subjects.length !== 1 ||
      subjects[0] !== subject ||
      info.config.retention !== RetentionPolicy.Workqueue
    ) {
      throw new ShmkitError(
        'INCOMPATIBLE',
        `the JetStream stream ${o.stream} exists with subjects ${JSON.stringify(subjects)} and retention ${info.config.retention}, not a shmkit channel on ${subject}`,
      );
    }
    return;
  } catch (e) {
    if (e instanceof ShmkitError) throw e;
    if (!/not found/i.test(String((e as Error)?.message))) throw e;
  }
  await jsm.streams.add({
    name: o.stream,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_msgs: o.maxMessages,
    duplicate_window: nanos(120_000),
  });
}

/**
 * Creates the shared durable consumer when it does not exist yet. Receivers create it (a sender
 * has no say in ackWait or maxPending); the first one's settings stay until the stream is removed.
 * The stream keeps messages until they are consumed, so messages sent before it exists wait.
 */
async function ensureConsumer(jsm: JetStreamManager, o: DurableOptions): Promise<void> {
  try {
    await jsm.consumers.info(o.stream, o.consumer);
    return;
  } catch (e) {
    if (!/not found/i.test(String((e as Error)?.message))) throw e;
  }
  await jsm.consumers.add(o.stream, {
    durable_name: o.consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(o.ackWait),
    max_ack_pending: o.maxPending,
  });
}

class DurableMode implements Mode {
  readonly durable = true;
  readonly queue = new ReceiveQueue<Incoming>();
  private seq = 0;
  private messages: ConsumerMessages | undefined;
  private listening: Promise<void> | undefined;
  private readonly seen = new Set<string>();
  /** Ids of the messages waiting in the queue, to fold a redelivery into the copy already here. */
  private readonly queuedIds = new Map<string, Incoming>();
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  /** The raw JetStream messages behind queued items, for working() and nak on detach. */
  private readonly raw = new Map<Incoming, JsMsg>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly subject: string,
    private readonly o: DurableOptions,
    private readonly senderId: string,
    readonly maxMessageSize: number,
  ) {}

  async send(
    payloads: readonly Uint8Array[],
    deadline: Deadline,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (payloads.length === 1) {
      await this.publish(payloads[0]!, `${this.senderId}-${++this.seq}`, deadline, signal);
      return;
    }
    // A window of publishes in flight (one connection keeps them in order); a failed one is
    // republished with its id, so nothing is lost or stored twice.
    for (let i = 0; i < payloads.length; i += WINDOW) {
      const batch = payloads.slice(i, i + WINDOW);
      const ids = batch.map(() => `${this.senderId}-${++this.seq}`);
      const results = await Promise.allSettled(
        batch.map((p, k) => this.js.publish(this.subject, p, { msgID: ids[k]! })),
      );
      for (let k = 0; k < batch.length; k++) {
        if (results[k]!.status === 'rejected') await this.publish(batch[k]!, ids[k]!, deadline, signal);
      }
    }
  }

  /** Publishes one message until the stream takes it (or says it already has it), or the deadline. */
  private async publish(
    payload: Uint8Array,
    msgID: string,
    deadline: Deadline,
    signal: AbortSignal | undefined,
    extra?: { end: boolean },
  ): Promise<void> {
    let wait = 2;
    for (;;) {
      if (this.nc.isClosed()) throw closedConnection();
      let h: ReturnType<typeof natsHeaders> | undefined;
      if (extra?.end) {
        h = natsHeaders();
        h.set(END_HEADER, '1');
      }
      try {
        await bounded(
          this.js.publish(this.subject, payload, {
            msgID,
            ...(h !== undefined ? { headers: h } : {}),
            timeout: Math.max(100, Math.min(2000, deadline.remaining())),
          }),
          deadline,
          signal,
          'NatsChannel send',
        );
        return;
      } catch (e) {
        if (e instanceof ShmkitError) throw e;
        const text = String((e as Error)?.message);
        if (/maximum payload|message size exceeds/i.test(text)) throw mapNatsError(e, 'sending', deadline);
        // Full stream (backpressure), lost ack, reconnecting, server restarting: try again with the
        // same id until the deadline.
        await pause(wait, deadline, signal, 'NatsChannel send');
        wait = Math.min(200, wait * 2);
      }
    }
  }

  listen(): Promise<void> {
    this.listening ??= this.startConsumer();
    return this.listening;
  }

  private async startConsumer(): Promise<void> {
    let consumer: Consumer;
    try {
      await ensureConsumer(this.jsm, this.o);
      consumer = await this.js.consumers.get(this.o.stream, this.o.consumer);
    } catch (e) {
      throw mapNatsError(e, 'attaching to the durable consumer', { timeout: this.o.openTimeout });
    }
    this.messages = await consumer.consume({
      max_messages: this.o.maxPending,
      // Short pulls: a pull request lost with a server restart is noticed (missing heartbeats)
      // and renewed within a second or two instead of the client's default 30 s.
      expires: PULL_EXPIRES,
      idle_heartbeat: PULL_EXPIRES / 2,
      callback: (m) => this.arrived(m),
    });
    // Messages waiting in our queue longer than ackWait would be redelivered to another receiver
    // while we still hold them: tell the server we are working on them.
    const every = Math.max(50, this.o.ackWait / 3);
    this.keepAlive = setInterval(() => {
      for (const m of this.raw.values()) m.working();
    }, every);
    this.keepAlive.unref();
  }

  private arrived(m: JsMsg): void {
    if (this.queue.ended) {
      // Past the end marker (or detached): give it back for whoever still reads.
      m.nak(NAK_AFTER_STOP);
      return;
    }
    if (m.headers?.get(END_HEADER) === '1') {
      void this.reachedEnd(m);
      return;
    }
    const id = m.headers?.get('Nats-Msg-Id') ?? `seq-${m.seq}`;
    if (this.seen.has(id)) {
      // A redelivery of a message this receiver already handed over (its ack was lost).
      m.ack();
      return;
    }
    const queued = this.queuedIds.get(id);
    if (queued !== undefined) {
      // Redelivered while the first copy still waits here (the server lost our "working" notices,
      // in a restart): keep one copy, and acknowledge through the newest delivery.
      this.raw.set(queued, m);
      return;
    }
    const item: Incoming = { data: plain(m.data), id, redelivered: m.redelivered };
    this.raw.set(item, m);
    this.queuedIds.set(id, item);
    this.queue.push(item);
  }

  /**
   * The end marker arrived. Messages delivered before it but not acknowledged (held by another
   * receiver, or by one that crashed and will see them redelivered after ackWait) still belong
   * before the end: while the consumer has any besides the marker, give the marker back for a
   * while and keep receiving. The marker itself is never acknowledged, so every receiver reaches it.
   */
  private async reachedEnd(m: JsMsg): Promise<void> {
    let pending = 0;
    try {
      const info = await this.jsm.consumers.info(this.o.stream, this.o.consumer);
      pending = info.num_ack_pending - 1;
    } catch {
      // Cannot tell (reconnecting): look again when the marker comes back.
      pending = 1;
    }
    if (pending > 0 && !this.queue.ended) {
      m.nak(Math.min(250, this.o.ackWait / 4));
      return;
    }
    this.queue.end();
    this.messages?.stop();
    m.nak(NAK_AFTER_STOP);
  }

  /**
   * Confirms the acks of `items` (in parallel); they are handed over after this. An item whose
   * ack is not confirmed by the deadline goes back to the head of the queue (TIMEOUT): the server
   * may have recorded the ack, in which case this receiver holds its only copy.
   */
  async accept(items: readonly Incoming[], deadline: Deadline): Promise<void> {
    // One round trip for the batch: plain acks for all but the last, whose ack is a request. The
    // server applies one connection's acks in order, so its answer covers the ones before it.
    let ok: boolean[];
    if (items.length > 1 && this.fastAck(items)) {
      ok = [await this.confirmAck(items[items.length - 1]!, deadline)];
      if (!ok[0]) ok = await Promise.all(items.map((it) => this.confirmAck(it, deadline)));
    } else ok = await Promise.all(items.map((it) => this.confirmAck(it, deadline)));
    if (ok.every(Boolean)) {
      for (const it of items) {
        this.raw.delete(it);
        this.queuedIds.delete(it.id);
        this.remember(it.id);
      }
      return;
    }
    this.queue.unshift(items);
    throw new ShmkitError(
      this.nc.isClosed() ? 'CLOSED' : 'TIMEOUT',
      `NatsChannel recv: the server did not confirm the acknowledgement within ${deadline.timeout} ms`,
    );
  }

  /** Sends plain acks for all of `items` but the last; false when the connection is not up. */
  private fastAck(items: readonly Incoming[]): boolean {
    if (this.nc.isClosed()) return false;
    try {
      for (let i = 0; i < items.length - 1; i++) {
        const m = this.raw.get(items[i]!);
        if (m !== undefined) this.nc.publish((m as JsMsg & { reply: string }).reply, ACK);
      }
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends the ack as a request: the server answers once it recorded it, and answers a repeated ack
   * of a message it already removed too, so retrying until an answer comes (across reconnects and
   * restarts) is safe and decisive.
   */
  private async confirmAck(item: Incoming, deadline: Deadline): Promise<boolean> {
    const m = this.raw.get(item);
    if (m === undefined) return true;
    const reply = (m as JsMsg & { reply: string }).reply;
    for (;;) {
      if (this.nc.isClosed()) return false;
      const left = deadline.remaining();
      if (left === 0) return false;
      try {
        await this.nc.request(reply, ACK, { timeout: Math.max(20, Math.min(2000, left)) });
        return true;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(20, deadline.remaining())));
      }
    }
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_LIMIT) {
      // Forget the oldest (a Set iterates in insertion order).
      const first = this.seen.values().next();
      if (!first.done) this.seen.delete(first.value);
    }
  }

  async end(deadline: Deadline, signal: AbortSignal | undefined): Promise<void> {
    await this.publish(new Uint8Array(0), 'end', deadline, signal, { end: true });
  }

  async detach(): Promise<void> {
    // Ended first: a message still arriving from the last pull is given back by arrived().
    this.queue.end();
    this.messages?.stop();
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    // Unread messages go back to the stream (after NAK_AFTER_STOP) instead of after ackWait.
    for (const m of this.raw.values()) m.nak(NAK_AFTER_STOP);
    this.raw.clear();
    this.queuedIds.clear();
    this.queue.drain();
  }
}

function closedConnection(): ShmkitError {
  return new ShmkitError('CLOSED', 'the NATS connection is closed');
}
