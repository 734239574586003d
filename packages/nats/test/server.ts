/**
 * The real nats-server for the NATS tests: `natsAvailable` says whether the binary is here (the
 * suites are skipped with one line naming the package when it is not; .ci/run installs it), and
 * `withServer` starts one on a free loopback port for a suite and stops it afterwards.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectNats,
  findNatsServer,
  NATS_SERVER_PACKAGE,
  type NatsServer,
  startNatsServer,
} from '@shmkit/nats';
import { afterAll, beforeAll } from 'vitest';

export const natsAvailable = findNatsServer() !== undefined;
if (!natsAvailable) {
  console.log(
    `skipping the NATS tests: nats-server is not installed (apt-get install ${NATS_SERVER_PACKAGE})`,
  );
}

/** A server (and a connection to it) for the enclosing describe block. */
export function withServer(o: { maxPayload?: number } = {}): {
  server: () => NatsServer;
  nc: () => NatsConnection;
} {
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  beforeAll(async () => {
    server = await startNatsServer(o);
    nc = await connectNats(server.url, { reconnectTimeWait: 100 });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });
  return { server: () => server!, nc: () => nc! };
}

let counter = 0;
/** A subject no other test (or worktree) uses. */
export function uniqueSubject(what: string): string {
  return `test.${what}.${process.pid}.${++counter}`;
}
