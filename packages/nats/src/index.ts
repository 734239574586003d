export type { NatsConnection } from '@nats-io/transport-node';
export { type ConnectNatsOptions, checkJetStream, connectNats } from './connect.js';
export { NatsChannel, type NatsChannelOptions } from './nats-channel.js';
export {
  findNatsServer,
  freePort,
  NATS_SERVER_PACKAGE,
  type NatsServer,
  type StartNatsServerOptions,
  startNatsServer,
} from './server.js';
export { type Tunnel, type TunnelOptions, tunnel } from './tunnel.js';
