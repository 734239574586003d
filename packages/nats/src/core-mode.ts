/**
 * Core mode: plain NATS publish/subscribe. Fast and at most once: a message sent while no
 * receiver listens, or lost with a connection, is gone; nothing is ever delivered twice.
 *
 * - Receivers of one channel share a queue group, so each message goes to one of them (the
 *   Channel's "each message to exactly one receiver", minus the guarantee of delivery).
 * - Bounded memory: a receiver buffers at most `maxPending` messages; past that it drops new
 *   ones (counted in `dropped`) instead of growing, and instead of letting the server cut it off
 *   as a slow consumer. Core NATS has no backpressure: use durable mode for that.
 * - A sender flushes (a PING/PONG round trip: the server has everything before the PONG) every
 *   FLUSH_EVERY messages or FLUSH_BYTES bytes, so what the client buffers stays bounded, also
 *   while it reconnects.
 * - End of stream: close() publishes on the notice subject that every channel object listens on.
 *   The server forwards one connection's messages in order, so a receiver sees the notice after
 *   the data this sender sent before it.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type Deadline, ShmkitError } from '@shmkit/core';
import { mapNatsError, maxPayloadOf } from './errors.js';
import { type Incoming, type Mode, plain } from './mode.js';
import { ReceiveQueue } from './queue.js';
import { bounded } from './wait.js';

const FLUSH_EVERY = 1024;
const FLUSH_BYTES = 1 << 20;

export class CoreMode implements Mode {
  readonly durable = false;
  readonly queue = new ReceiveQueue<Incoming>();
  readonly maxMessageSize: number;
  /** Messages dropped because the receive buffer was full. */
  dropped = 0;
  private sub: Subscription | undefined;
  private unflushed = 0;
  private unflushedBytes = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly group: string,
    private readonly maxPending: number,
    private readonly notice: string,
  ) {
    this.maxMessageSize = maxPayloadOf(nc);
  }

  async send(
    payloads: readonly Uint8Array[],
    deadline: Deadline,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const nc = this.nc;
    for (const p of payloads) {
      try {
        nc.publish(this.subject, p);
      } catch (e) {
        throw mapNatsError(e, 'publishing', deadline);
      }
      this.unflushed++;
      this.unflushedBytes += p.length;
      if (this.unflushed >= FLUSH_EVERY || this.unflushedBytes >= FLUSH_BYTES)
        await this.flush(deadline, signal);
    }
  }

  private async flush(deadline: Deadline, signal: AbortSignal | undefined): Promise<void> {
    this.unflushed = 0;
    this.unflushedBytes = 0;
    try {
      await bounded(this.nc.flush(), deadline, signal, 'NatsChannel send (waiting for the server)');
    } catch (e) {
      throw mapNatsError(e, 'flushing', deadline);
    }
  }

  async listen(): Promise<void> {
    if (this.sub !== undefined) return;
    this.sub = this.nc.subscribe(this.subject, {
      queue: this.group,
      callback: (err, m) => {
        if (err !== null) {
          this.queue.fail(mapNatsError(err, 'receiving', { timeout: 0 }));
          return;
        }
        if (this.queue.ended) return;
        if (this.queue.length >= this.maxPending) {
          this.dropped++;
          return;
        }
        this.queue.push({ data: plain(m.data), id: '', redelivered: false });
      },
    });
    // The subscription exists on the server once it answered a PING sent after it.
    await this.nc.flush();
  }

  /** Called by NatsChannel when the end-of-stream notice arrives. */
  ended(): void {
    this.queue.end();
  }

  async accept(): Promise<void> {}

  async end(deadline: Deadline, signal: AbortSignal | undefined): Promise<void> {
    try {
      this.nc.publish(this.notice, new Uint8Array(0));
    } catch (e) {
      throw mapNatsError(e, 'publishing the end of the stream', deadline);
    }
    await this.flush(deadline, signal);
  }

  async detach(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    if (sub !== undefined && !this.nc.isClosed()) sub.unsubscribe();
    this.queue.end();
    if (this.nc.isClosed()) return;
    if (sub === undefined) return;
    await this.nc.flush().catch(() => {
      throw new ShmkitError('CLOSED', 'the NATS connection closed while detaching');
    });
  }
}
