/**
 * Backend `shmkit-thread-struct`: objects through a Channel with a struct codec (@shmkit/struct)
 * between the main thread and a worker. The objects are the built-in payload's (payload.ts,
 * builtinObject), in the same envelope `{ seq, body }` as every other backend; the struct below
 * is their fixed layout, so each message is written straight into the ring and read straight out.
 * A user payload that does not fit this layout is skipped with a reason (fidelity check), as JSON
 * skips what it cannot carry. It carries objects only: measure() runs it for object payloads
 * (a bytes run would be shmkit-thread again; its session still takes one, through the bytes codec).
 */
import type { MessagePort } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { struct } from '@shmkit/struct';
import * as hdr from 'hdr-histogram-js';
import type { Backend, RunOutcome, RunSpec, Session } from './backends.js';
import { type Peer, startThreadPeer } from './link.js';
import { MessageMaker, Verifier } from './payload.js';
import { type Control, isControl, type WireSpec } from './protocol.js';

const ID = 'shmkit-thread-struct';

const Item = struct({ sku: 'utf8:8', title: 'utf8:40', qty: 'u32', unitPrice: 'f64' }, { name: 'Item' });
const Customer = struct(
  { id: 'u32', name: 'utf8:32', email: 'utf8:48', tier: 'utf8:8' },
  { name: 'Customer' },
);
const Address = struct(
  { street: 'utf8:32', city: 'utf8:16', zip: 'utf8:10', country: 'utf8:2' },
  { name: 'Address' },
);
const Shipping = struct({ method: 'utf8:8', address: Address }, { name: 'Shipping' });
const Body = struct(
  {
    type: 'utf8:16',
    id: 'utf8:12',
    createdAt: 'utf8:24',
    customer: Customer,
    items: [Item, 3],
    total: 'f64',
    currency: 'utf8:4',
    shipping: Shipping,
    paid: 'bool',
    coupon: 'utf8:12?',
    tags: 'utf8:8[2]',
  },
  { name: 'Order' },
);
/** The envelope of every object message, as a struct. */
export const StructEnvelope = struct({ seq: 'u32', body: Body }, { name: 'Envelope' });

/** Why `pool` cannot travel as StructEnvelope unchanged, or undefined when it can. */
export function structFidelityProblem(
  pool: readonly unknown[],
  print: (v: unknown) => string,
): string | undefined {
  const c = StructEnvelope.codec;
  for (const body of pool) {
    try {
      const back = c.decode(c.encode({ seq: 0, body } as never)) as { body: unknown };
      if (print(back.body) === print(body)) continue;
    } catch {
      // falls through
    }
    return `${ID} carries the built-in object only (its struct layout is fixed); this payload does not fit it`;
  }
  return undefined;
}

function capacityFor(spec: { kind: string; size: number }): number {
  const frame = spec.kind === 'bytes' ? spec.size + 32 : StructEnvelope.byteLength + 32;
  return 2 ** Math.ceil(Math.log2(Math.max(1 << 16, frame * 4)));
}

function codecOf(kind: string) {
  return kind === 'bytes' ? undefined : StructEnvelope.codec;
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

/** The main side: like ChannelSession (backends.ts), with the struct codec for objects. */
class StructSession implements Session {
  constructor(private readonly peer: Peer) {}

  get usable(): boolean {
    return !this.peer.link.broken;
  }

  async run(spec: RunSpec): Promise<RunOutcome> {
    const link = this.peer.link;
    const capacity = capacityFor(spec);
    const codec = codecOf(spec.kind);
    const keys = spec.pattern === 'stream' ? ['data'] : ['ping', 'pong'];
    const chans: Record<string, Channel<unknown>> = {};
    const channels: Record<string, unknown> = {};
    for (const k of keys) {
      const ch = new Channel<unknown>({ capacity, codec: codec as never });
      chans[k] = ch;
      channels[k] = ch.handle;
    }
    const wire: WireSpec = {
      pattern: spec.pattern,
      kind: spec.kind,
      size: spec.size,
      n: spec.n,
      timeoutMs: spec.timeoutMs,
      channels: channels as WireSpec['channels'],
      ...(spec.kind === 'object' ? { pool: spec.pool } : {}),
    };
    await link.request({ shmkit$: 'prepare', spec: wire }, 'prepared', spec.timeoutMs);
    const v = new Verifier(spec.kind, spec.size, spec.pool);
    const wait = { timeout: spec.timeoutMs };
    const n = spec.n;
    if (spec.pattern === 'stream') {
      const ch = chans.data!;
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      link.send({ shmkit$: 'go' });
      for (let i = 0; i < n; i++) v.accept(ch.recv(wait));
      const elapsedMs = performance.now() - start;
      const cpuUs = cpuSince(cpu0);
      await link.expect('done', spec.timeoutMs);
      return this.outcome(spec, v, elapsedMs, cpuUs, undefined);
    }
    const ping = chans.ping!;
    const pong = chans.pong!;
    const maker = new MessageMaker(spec.kind, spec.size, spec.pool);
    const histogram = hdr.build({ numberOfSignificantValueDigits: 3 });
    await link.request({ shmkit$: 'go' }, 'going', spec.timeoutMs);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let t = start;
    for (let i = 0; i < n; i++) {
      const sentAt = performance.now();
      ping.send(maker.make(i), wait);
      const back = pong.recv(wait);
      t = performance.now();
      histogram.recordValue(Math.max(1, Math.round((t - sentAt) * 1e6)));
      v.accept(back);
    }
    const cpuUs = cpuSince(cpu0);
    await link.request({ shmkit$: 'finish' }, 'done', spec.timeoutMs);
    return this.outcome(spec, v, t - start, cpuUs, histogram);
  }

  private outcome(
    spec: RunSpec,
    v: Verifier,
    elapsedMs: number,
    cpuUs: number,
    histogram: hdr.Histogram | undefined,
  ): RunOutcome {
    // A worker's CPU time is already in this process's cpuUsage.
    const { verified, why } = v.verdict(spec.n);
    return { n: spec.n, elapsedMs, cpuUs, verified, why, histogram };
  }

  close(): Promise<void> {
    return this.peer.stop();
  }
}

export const structBackend: Backend = {
  id: ID,
  where: 'thread',
  family: 'channel',
  summary: 'shmkit Channel over a SharedArrayBuffer, objects through a struct codec (fixed layout)',
  open: async () => new StructSession(await startThreadPeer(ID)),
  unavailable: async () => undefined,
};

/** The worker side (workers/thread-peer.mjs dispatches here for this backend). */
export function runStructPeer(
  port: MessagePort,
  control: (m: Control) => void,
  report: (e: unknown) => void,
): void {
  let spec: WireSpec | undefined;
  let chans: Record<string, Channel<unknown>> = {};
  let cpu0 = process.cpuUsage();
  let chain = Promise.resolve();
  const handle = (m: Control): void => {
    switch (m.shmkit$) {
      case 'prepare': {
        spec = m.spec;
        const codec = codecOf(spec.kind);
        chans = {};
        for (const [k, h] of Object.entries(spec.channels ?? {})) {
          if (h !== undefined)
            chans[k] = Channel.from<unknown>(h, codec === undefined ? undefined : { codec: codec as never });
        }
        control({ shmkit$: 'prepared' });
        return;
      }
      case 'go': {
        const s = spec!;
        const wait = { timeout: s.timeoutMs };
        const maker = new MessageMaker(s.kind, s.size, s.pool);
        cpu0 = process.cpuUsage();
        if (s.pattern === 'stream') {
          const ch = chans.data!;
          for (let i = 0; i < s.n; i++) ch.send(maker.make(i), wait);
          control({ shmkit$: 'done', cpuUs: cpuSince(cpu0) });
        } else {
          control({ shmkit$: 'going' });
          const ping = chans.ping!;
          const pong = chans.pong!;
          for (let i = 0; i < s.n; i++) pong.send(ping.recv(wait), wait);
        }
        return;
      }
      case 'finish':
        control({ shmkit$: 'done', cpuUs: cpuSince(cpu0) });
        return;
      default:
        throw new Error(`unexpected control message ${m.shmkit$}`);
    }
  };
  port.on('message', (m: unknown) => {
    if (!isControl(m)) return;
    chain = chain.then(() => handle(m)).catch(report);
  });
  control({ shmkit$: 'ready' });
}
