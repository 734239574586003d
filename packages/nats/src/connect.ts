/**
 * connectNats: `connect()` of @nats-io/transport-node with the settings a channel wants (keep
 * reconnecting, bounded first attempt) and its failures as ShmkitErrors, so an unreachable
 * server is one clear error within `timeout` instead of a client-specific exception.
 */

import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { ShmkitError, validateTimeout } from '@shmkit/core';
import { mapNatsError } from './errors.js';

/** Options of {@link connectNats}: the client's own, plus `timeout` for the first connection. */
export interface ConnectNatsOptions extends Omit<NodeConnectionOptions, 'servers' | 'timeout'> {
  /** ms to wait for the first connection (default 5000). */
  timeout?: number;
}

/**
 * Connects to the NATS server(s) at `servers` (`nats://host:port`, or a list). After the first
 * connection the client reconnects on its own, forever unless `maxReconnectAttempts` says
 * otherwise. NOT_FOUND when nothing answers (connection refused, unknown host), TIMEOUT when the
 * server does not complete the handshake in time.
 *
 * @example
 * ```ts fragment
 * const nc = await connectNats('nats://127.0.0.1:4222', { timeout: 2000 });
 * ```
 */
export async function connectNats(
  servers: string | string[],
  o: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const timeout = validateTimeout(o.timeout ?? 5000);
  const { timeout: _t, ...rest } = o;
  try {
    return await connect({
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...rest,
      servers,
      timeout: Math.max(1, Math.min(timeout, 2 ** 31 - 1)),
    });
  } catch (e) {
    const err = e as Error;
    const text = `${err?.name ?? ''} ${err?.message ?? String(e)}`;
    const where = Array.isArray(servers) ? servers.join(', ') : servers;
    if (/timeout/i.test(text)) {
      throw new ShmkitError('TIMEOUT', `no NATS server answered at ${where} within ${timeout} ms`, {
        cause: e,
      });
    }
    if (
      /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ECONNRESET|connection refused|getaddrinfo/i.test(text)
    ) {
      throw new ShmkitError('NOT_FOUND', `no NATS server at ${where} (${err?.message ?? e})`, { cause: e });
    }
    if (/Authorization|Authentication|Permission/i.test(text)) {
      throw new ShmkitError(
        'PERMISSION',
        `NATS server at ${where} refused the credentials: ${err?.message}`,
        { cause: e },
      );
    }
    if (/invalid url|InvalidArgument|malformed/i.test(text)) {
      throw new ShmkitError(
        'INVALID_ARGUMENT',
        `bad NATS server address ${JSON.stringify(where)}: ${err?.message}`,
        { cause: e },
      );
    }
    throw new ShmkitError('NOT_FOUND', `could not connect to NATS at ${where}: ${err?.message ?? e}`, {
      cause: e,
    });
  }
}

/** Resolves when the server behind `nc` has JetStream (durable mode); UNSUPPORTED otherwise. */
export async function checkJetStream(nc: NatsConnection, o: { timeout?: number } = {}): Promise<void> {
  const timeout = validateTimeout(o.timeout ?? 5000);
  try {
    await jetstreamManager(nc, { timeout });
  } catch (e) {
    throw mapNatsError(e, 'checking for JetStream', { timeout });
  }
}
