/**
 * The two delivery modes behind NatsChannel (core-mode.ts: at most once; durable-mode.ts:
 * JetStream, exactly once). NatsChannel encodes, validates and waits; a mode moves payloads.
 */
import type { Deadline } from '@shmkit/core';
import type { ReceiveQueue } from './queue.js';

/** A message that arrived and waits in the receive queue. */
export interface Incoming {
  data: Uint8Array;
  /** Nats-Msg-Id (durable) or '' (core). */
  id: string;
  /** Durable: the server had delivered it before (to a receiver that crashed or gave it back). */
  redelivered: boolean;
}

export interface Mode {
  readonly durable: boolean;
  /** Largest payload the server takes, less what the mode adds (headers). */
  readonly maxMessageSize: number;
  readonly queue: ReceiveQueue<Incoming>;
  /** Sends payloads in order; resolves once the mode's guarantee holds (durable: stored). */
  send(payloads: readonly Uint8Array[], deadline: Deadline, signal: AbortSignal | undefined): Promise<void>;
  /** Starts receiving into `queue` (idempotent). */
  listen(): Promise<void>;
  /** Called with messages taken from the queue before they are handed to the caller (durable: acks). */
  accept(items: readonly Incoming[], deadline: Deadline): Promise<void>;
  /** Publishes the end of the stream. */
  end(deadline: Deadline, signal: AbortSignal | undefined): Promise<void>;
  /** Stops receiving; unread messages go back to the server where it keeps them. */
  detach(): Promise<void>;
}

/**
 * The client hands out Buffers, whose slice() is a view, not a copy: codecs get a plain
 * Uint8Array over the same bytes, so the bytes codec's copy is a real one.
 */
export function plain(data: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(data) === Uint8Array.prototype
    ? data
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
