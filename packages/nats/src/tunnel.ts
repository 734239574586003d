/**
 * The tunnel: forwards a local Channel (threads, or processes through a segment) to a NATS
 * subject, or a subject into a local Channel, the way iceoryx2's tunnel bridges its shared-memory
 * services to a network transport. Messages travel as their encoded bytes (peek/claim on the
 * local side, sendEncoded/recvEncoded on the NATS side), so the tunnel never decodes them: the readers on
 * the other side open their channel with the same codec as the local one.
 *
 * - Batches: 'out' takes up to `batch` messages from the local channel (one wait, then tryPeek
 *   without waiting) and sends them with one sendEncoded; 'in' takes up to `batch` with one
 *   recvEncoded. Memory stays bounded by `batch` messages plus the NatsChannel's own bounds.
 * - Close propagates: 'out' closes the NATS channel once the local one is closed and drained;
 *   'in' closes the local channel once the NATS stream ended.
 * - Server restarts: the NATS client reconnects; in durable mode every message is stored and
 *   acknowledged exactly once across it (see durable-mode.ts), in core mode some may be lost.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Channel } from '@shmkit/channel';
import { invalidArgument, ShmkitError, validateInteger } from '@shmkit/core';
import { NatsChannel, type NatsChannelOptions } from './nats-channel.js';

/** Options of {@link tunnel}. */
export interface TunnelOptions extends Omit<NatsChannelOptions<Uint8Array>, 'codec'> {
  /** 'out': local channel -> subject. 'in': subject -> local channel. */
  direction: 'out' | 'in';
  /** Messages per batch (default 256). */
  batch?: number;
}

/** A running tunnel. */
export interface Tunnel {
  /** Messages forwarded so far. */
  readonly forwarded: number;
  /** Resolves when the tunnel ended because the stream was closed (and the close forwarded); rejects on failure. */
  readonly done: Promise<void>;
  /**
   * Stops forwarding after the batch in hand (nothing taken is dropped), leaves both channels
   * open, and resolves; rejects with the tunnel's failure if it had failed.
   */
  stop(): Promise<void>;
}

/**
 * Forwards `local` to `subject` (`direction: 'out'`) or `subject` into `local` (`'in'`).
 *
 * @example
 * ```ts fragment
 * const local = new Channel({ codec: 'msgpack' });       // workers send here
 * const t = tunnel(local, nc, 'orders', { direction: 'out', durable: true });
 * // elsewhere: NatsChannel.open(nc, 'orders', { codec: 'msgpack', durable: true })
 * local.close();                                          // ... and the remote side ends too
 * await t.done;
 * ```
 */
export function tunnel(
  local: Channel<unknown>,
  nc: NatsConnection,
  subject: string,
  o: TunnelOptions,
): Tunnel {
  if (typeof o !== 'object' || o === null) invalidArgument('tunnel needs options with a direction');
  if (o.direction !== 'out' && o.direction !== 'in') invalidArgument(`direction must be 'out' or 'in'`);
  if (local === null || typeof local !== 'object' || typeof local.tryPeek !== 'function') {
    invalidArgument('tunnel forwards a @shmkit/channel Channel');
  }
  const batch = validateInteger(o.batch ?? 256, 'batch', 1, 65_536);
  const { direction, batch: _b, ...natsOptions } = o;
  const stopper = new AbortController();
  let forwarded = 0;
  const run = async (): Promise<void> => {
    const remote = await NatsChannel.open<Uint8Array>(nc, subject, { ...natsOptions, codec: 'bytes' });
    try {
      if (direction === 'out') await out(local, remote, batch, stopper.signal, (n) => (forwarded += n));
      else await into(local, remote, batch, stopper.signal, (n) => (forwarded += n));
    } finally {
      await remote.detach().catch(() => {});
    }
  };
  const done = run();
  // Awaited by stop() or the caller; never an unhandled rejection in between.
  done.catch(() => {});
  return {
    get forwarded() {
      return forwarded;
    },
    done,
    async stop() {
      stopper.abort();
      await done;
    },
  };
}

async function out(
  local: Channel<unknown>,
  remote: NatsChannel<Uint8Array>,
  max: number,
  stop: AbortSignal,
  count: (n: number) => void,
): Promise<void> {
  for (;;) {
    const got: Uint8Array[] = [];
    let ended = false;
    try {
      const first = await local.peekAsync({ signal: stop });
      got.push(first.slice());
      local.release();
    } catch (e) {
      if (ShmkitError.is(e, 'ABORTED')) return;
      if (!ShmkitError.is(e, 'CLOSED')) throw e;
      ended = true;
    }
    while (!ended && got.length < max) {
      let view: Uint8Array | undefined;
      try {
        view = local.tryPeek();
      } catch (e) {
        if (!ShmkitError.is(e, 'CLOSED')) throw e;
        ended = true;
        break;
      }
      if (view === undefined) break;
      got.push(view.slice());
      local.release();
    }
    // Not aborted by stop(): what was taken from the local channel is sent before stopping.
    if (got.length > 0) await remote.sendEncoded(got);
    count(got.length);
    if (ended) {
      await remote.close();
      return;
    }
    if (stop.aborted) return;
  }
}

async function into(
  local: Channel<unknown>,
  remote: NatsChannel<Uint8Array>,
  max: number,
  stop: AbortSignal,
  count: (n: number) => void,
): Promise<void> {
  await remote.listen();
  for (;;) {
    let got: Uint8Array[];
    try {
      got = await remote.recvEncoded(max, { signal: stop });
    } catch (e) {
      if (ShmkitError.is(e, 'ABORTED')) return;
      if (!ShmkitError.is(e, 'CLOSED')) throw e;
      local.close();
      return;
    }
    // Received (and, durable, acknowledged): these go into the local channel whatever stop() says.
    for (const bytes of got) {
      if (bytes.length > local.maxFrameSize) {
        throw new ShmkitError(
          'TOO_LARGE',
          `a message of ${bytes.length} bytes from ${remote.subject} does not fit one frame of the local channel (max ${local.maxFrameSize}; use a capacity of at least twice the largest message)`,
        );
      }
      const room = local.tryClaim(bytes.length) ?? (await local.claimAsync(bytes.length));
      room.set(bytes);
      local.publish(bytes.length);
    }
    count(got.length);
    if (stop.aborted) return;
  }
}
