/**
 * The NATS backends: `nats` (core NATS, at most once) and `nats-durable` (a JetStream stream,
 * exactly once), both through @shmkit/nats's NatsChannel on loopback, the peer a child process
 * with its own connection. They answer "what does leaving shared memory for the network cost":
 * the same messages, verified the same way, against a real nats-server.
 *
 * The server: the one at `--nats URL` (setNatsUrl), or one this process starts itself on a free
 * loopback port when `nats-server` is installed (stopped, and its store removed, when the process
 * exits). Without either, both backends are skipped with a message that says what to install.
 *
 * Control travels on child IPC as for every process backend; data only on NATS. Subjects are
 * unique per run. Stream runs: the main side listens before the peer starts sending. A core-mode
 * run that loses messages (at most once) cannot verify: it ends once the peer is done and nothing
 * arrived for a second, and reports how many came.
 */
import { randomBytes } from 'node:crypto';
import {
  checkJetStream,
  connectNats,
  findNatsServer,
  NATS_SERVER_PACKAGE,
  NatsChannel,
  type NatsConnection,
  startNatsServer,
} from '@shmkit/nats';
import { type Peer, startChildPeer } from './link.js';
import { MessageMaker, Verifier } from './payload.js';
import { type Control, ENV_ADDRESS } from './protocol.js';
import {
  type Backend,
  cpuSince,
  newHistogram,
  outcome,
  type RunOutcome,
  type RunSpec,
  roundTripsAsync,
  type Session,
  toWire,
} from './session.js';
import type { BackendId } from './types.js';

type NatsId = 'nats' | 'nats-durable';

let configuredUrl: string | undefined;
let started: Promise<string> | undefined;

/** Measures against the server at `url` instead of starting one (`shmkit bench --nats URL`). */
export function setNatsUrl(url: string | undefined): void {
  configuredUrl = url;
}

/** The server's URL: the configured one, or a server started now (once per process). */
function serverUrl(): Promise<string> {
  if (configuredUrl !== undefined) return Promise.resolve(configuredUrl);
  // Stopped, and its store removed, when this process ends (startNatsServer sees to both).
  started ??= startNatsServer().then((s) => s.url);
  return started;
}

async function unavailable(id: NatsId): Promise<string | undefined> {
  if (configuredUrl === undefined && findNatsServer() === undefined) {
    return `needs a NATS server: install nats-server (apt-get install ${NATS_SERVER_PACKAGE}) or pass --nats URL`;
  }
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats(await serverUrl(), { timeout: 3000, maxReconnectAttempts: 0 });
    if (id === 'nats-durable') await checkJetStream(nc, { timeout: 3000 });
    return undefined;
  } catch (e) {
    return `NATS server unusable: ${(e as Error).message}`;
  } finally {
    await nc?.close();
  }
}

/** The run as the peer gets it: every peer's spec, plus the subject prefix of its channels. */
function toPeerSpec(spec: RunSpec, subject: string): Record<string, unknown> {
  return { ...toWire(spec), subject };
}

let runCounter = 0;

class NatsSession implements Session {
  constructor(
    private readonly id: NatsId,
    private readonly peer: Peer,
    private readonly nc: NatsConnection,
  ) {}

  get usable(): boolean {
    return !this.peer.link.broken && !this.nc.isClosed();
  }

  private open(subject: string, spec: RunSpec): Promise<NatsChannel<unknown>> {
    return NatsChannel.open<unknown>(this.nc, subject, {
      codec: spec.kind === 'bytes' ? 'bytes' : 'msgpack',
      durable: this.id === 'nats-durable',
      // Core: room for the whole run, so only the network can lose a message.
      maxPending: this.id === 'nats' ? Math.min(spec.n + 16, 1 << 24) : 1024,
      maxMessages: 1_000_000,
    });
  }

  async run(spec: RunSpec): Promise<RunOutcome> {
    const link = this.peer.link;
    const subject = `shmkit.bench.${process.pid}.${randomBytes(3).toString('hex')}.${++runCounter}`;
    const durable = this.id === 'nats-durable';
    const chans: NatsChannel<unknown>[] = [];
    try {
      const v = new Verifier(spec.kind, spec.size, spec.pool);
      if (spec.pattern === 'stream') {
        const data = await this.open(`${subject}.data`, spec);
        chans.push(data);
        await data.listen();
        await link.request(
          { shmkit$: 'prepare', spec: toPeerSpec(spec, subject) as never },
          'prepared',
          spec.timeoutMs,
        );
        const cpu0 = process.cpuUsage();
        const start = performance.now();
        link.send({ shmkit$: 'go' });
        let peerDone: Control | undefined;
        const doneReply = link.expect('done', spec.timeoutMs).then((d) => (peerDone = d));
        doneReply.catch(() => {});
        let end = start;
        while (v.count < spec.n) {
          let batch: unknown[];
          try {
            // Once the peer is done, a second of silence means the rest was lost (core mode).
            batch = await data.recvMany(1024, { timeout: peerDone === undefined ? spec.timeoutMs : 1000 });
          } catch (e) {
            if (peerDone !== undefined && (e as { code?: string }).code === 'TIMEOUT') break;
            throw e;
          }
          for (const m of batch) v.accept(m);
          end = performance.now();
        }
        const done = await doneReply;
        return outcome('process', spec, v, end - start, cpuSince(cpu0), done, undefined);
      }
      const ping = await this.open(`${subject}.ping`, spec);
      const pong = await this.open(`${subject}.pong`, spec);
      chans.push(ping, pong);
      await pong.listen();
      await link.request(
        { shmkit$: 'prepare', spec: toPeerSpec(spec, subject) as never },
        'prepared',
        spec.timeoutMs,
      );
      await link.request({ shmkit$: 'go' }, 'going', spec.timeoutMs);
      const maker = new MessageMaker(spec.kind, spec.size, spec.pool);
      const histogram = newHistogram();
      const wait = durable ? spec.timeoutMs : Math.min(spec.timeoutMs, 5000);
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      const t = await roundTripsAsync({ ping, pong }, maker, spec.n, v, histogram, wait);
      const cpu = cpuSince(cpu0);
      const done = await link.request({ shmkit$: 'finish' }, 'done', spec.timeoutMs);
      return outcome('process', spec, v, t - start, cpu, done, histogram);
    } finally {
      for (const c of chans) await c.detach().catch(() => {});
      if (durable) {
        for (const s of ['data', 'ping', 'pong'])
          await NatsChannel.remove(this.nc, `${subject}.${s}`).catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    try {
      await this.peer.stop();
    } finally {
      await this.nc.close().catch(() => {});
    }
  }
}

async function open(id: NatsId): Promise<Session> {
  const url = await serverUrl();
  const nc = await connectNats(url);
  try {
    const peer = await startChildPeer(id, { address: { url } as never });
    return new NatsSession(id, peer, nc);
  } catch (e) {
    await nc.close();
    throw e;
  }
}

/** The two backends, for the BACKENDS table of backends.ts. */
export function natsBackend(id: NatsId): Backend {
  return {
    id,
    where: 'process',
    family: 'channel',
    summary:
      id === 'nats'
        ? 'NATS on loopback, core publish/subscribe (at most once), @shmkit/nats NatsChannel'
        : 'NATS JetStream on loopback (stored, acked, exactly once), @shmkit/nats NatsChannel',
    unavailable: () => unavailable(id),
    open: () => open(id),
  };
}

// ---------------------------------------------------------------------------------------------
// The peer (child process).

interface PeerSpec {
  pattern: 'stream' | 'rtt';
  kind: 'bytes' | 'object';
  size: number;
  n: number;
  timeoutMs: number;
  subject: string;
  pool?: unknown[];
}

/** Entry of the child peer for the NATS backends: called by runChildPeer. */
export async function runNatsPeer(
  backend: BackendId,
  control: (m: Control) => void,
): Promise<(m: Control) => Promise<void>> {
  const { url } = JSON.parse(process.env[ENV_ADDRESS] ?? '{}') as { url?: string };
  if (url === undefined) throw new Error(`${backend}: no server URL in ${ENV_ADDRESS}`);
  const nc = await connectNats(url);
  const durable = backend === 'nats-durable';
  let spec: PeerSpec | undefined;
  let chans: NatsChannel<unknown>[] = [];
  let cpu0 = process.cpuUsage();
  const cpuUs = (): number => {
    const c = process.cpuUsage(cpu0);
    return c.user + c.system;
  };
  const openCh = (s: string, p: PeerSpec): Promise<NatsChannel<unknown>> =>
    NatsChannel.open<unknown>(nc, s, {
      codec: p.kind === 'bytes' ? 'bytes' : 'msgpack',
      durable,
      maxPending: durable ? 1024 : 1 << 16,
      maxMessages: 1_000_000,
    });
  const release = async (): Promise<void> => {
    for (const c of chans) await c.detach().catch(() => {});
    chans = [];
  };
  return async (m) => {
    switch (m.shmkit$) {
      case 'prepare': {
        await release();
        const p = m.spec as unknown as PeerSpec;
        spec = p;
        if (p.pattern === 'stream') chans = [await openCh(`${p.subject}.data`, p)];
        else {
          const ping = await openCh(`${p.subject}.ping`, p);
          chans = [ping, await openCh(`${p.subject}.pong`, p)];
          await ping.listen();
        }
        control({ shmkit$: 'prepared' });
        return;
      }
      case 'go': {
        const p = spec!;
        const maker = new MessageMaker(p.kind, p.size, p.pool);
        const wait = { timeout: p.timeoutMs };
        cpu0 = process.cpuUsage();
        if (p.pattern === 'stream') {
          const ch = chans[0]!;
          if (durable) {
            // Stored in windows of publishes in flight; each message a copy (the maker reuses its buffer).
            for (let i = 0; i < p.n; i += 256) {
              const batch: unknown[] = [];
              for (let j = i; j < Math.min(p.n, i + 256); j++) {
                const m = maker.make(j);
                batch.push(m instanceof Uint8Array ? m.slice() : m);
              }
              await ch.sendMany(batch, wait);
            }
          } else for (let i = 0; i < p.n; i++) await ch.sendAsync(maker.make(i), wait);
          await nc.flush();
          control({ shmkit$: 'done', cpuUs: cpuUs() });
          return;
        }
        control({ shmkit$: 'going' });
        const [ping, pong] = chans;
        for (let i = 0; i < p.n; i++) await pong!.sendAsync(await ping!.recvAsync(wait), wait);
        return;
      }
      case 'finish':
        control({ shmkit$: 'done', cpuUs: cpuUs() });
        await release();
        return;
      default:
        throw new Error(`unexpected control message ${m.shmkit$}`);
    }
  };
}
