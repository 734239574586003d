/**
 * NATS client errors as ShmkitErrors: the client throws its own classes (and plain Errors with
 * server text), which callers of shmkit should not have to know.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { ShmkitError } from '@shmkit/core';

/** The server's max_payload (1 MiB when the server did not say). */
export function maxPayloadOf(nc: NatsConnection): number {
  const m = nc.info?.max_payload;
  return typeof m === 'number' && m > 0 ? m : 1 << 20;
}

/** A ShmkitError for `e`, thrown by the NATS client while `doing`. */
export function mapNatsError(e: unknown, doing: string, deadline: { timeout: number }): ShmkitError {
  if (e instanceof ShmkitError) return e;
  const err = e as Error | undefined;
  const name = err?.name ?? '';
  const text = String(err?.message ?? e);
  const what = `NATS: ${doing}: ${text}`;
  if (/ClosedConnection|DrainingConnection/.test(name) || /connection (is )?(closed|draining)/i.test(text)) {
    return new ShmkitError('CLOSED', `${what} (the NATS connection is closed)`, { cause: e });
  }
  if (/Timeout/i.test(name) || /timeout/i.test(text)) {
    return new ShmkitError('TIMEOUT', `${what} (no answer within ${deadline.timeout} ms)`, { cause: e });
  }
  if (/NoResponders|503|jetstream not enabled|no responders/i.test(name + text)) {
    return new ShmkitError(
      'UNSUPPORTED',
      `${what} (JetStream is not enabled on this server: start nats-server with -js)`,
      { cause: e },
    );
  }
  if (/InvalidSubject/i.test(name) || /invalid subject/i.test(text)) {
    return new ShmkitError('INVALID_ARGUMENT', what, { cause: e });
  }
  if (/Permission|Authorization/i.test(name)) return new ShmkitError('PERMISSION', what, { cause: e });
  if (/payload|too large|exceeds/i.test(text)) return new ShmkitError('TOO_LARGE', what, { cause: e });
  if (/not found/i.test(text)) return new ShmkitError('NOT_FOUND', what, { cause: e });
  // Anything else is the server failing or refusing the request.
  return new ShmkitError('PEER_DEAD', what, { cause: e });
}
