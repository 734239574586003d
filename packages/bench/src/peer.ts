/**
 * The peer side of every backend: a worker thread (workers/thread-peer.mjs) or a child process
 * (workers/child-peer.mjs) that produces the stream or echoes the pings. See protocol.ts for the
 * conversation with the main side, wire.ts for the encodings.
 *
 * Every blocking wait is bounded by the run's timeout; a child exits when its parent goes away
 * (IPC disconnect), so no peer outlives a crashed benchmark.
 */
import net from 'node:net';
import { Channel } from '@shmkit/channel';
import { runNatsPeer } from './backend-nats.js';
import { MessageMaker, stamp } from './payload.js';
import {
  BATCH,
  type Control,
  ENV_ADDRESS,
  ENV_BACKEND,
  isControl,
  PIPE_IN,
  PIPE_OUT,
  type ThreadPeerData,
  type WireSpec,
} from './protocol.js';
import { loadSegment, type Segment } from './segment-api.js';
import type { BackendId } from './types.js';
import { channelCodec, FrameReader, familyOf, frame, type WireCodec, wireCodec } from './wire.js';

/** How the peer talks to the main side, and (for message backends) sends data. */
interface Path {
  /** Control messages. */
  control(m: Control): void;
  /** One data message; a promise when the caller must wait before sending more. */
  send(w: unknown): Promise<void> | undefined;
  /** Writes what send buffered (uds-batched coalesces frames); a promise when it must drain. */
  flush?(): Promise<void> | undefined;
}

/** The per-run state of a peer. */
class PeerRun {
  readonly maker: MessageMaker;
  readonly codec: WireCodec;
  cpu0 = process.cpuUsage();
  echoed = 0;

  constructor(
    readonly spec: WireSpec,
    backend: BackendId,
  ) {
    this.maker = new MessageMaker(spec.kind, spec.size, spec.pool);
    this.codec = wireCodec(familyOf(backend), spec.kind);
  }

  cpuUs(): number {
    const c = process.cpuUsage(this.cpu0);
    return c.user + c.system;
  }
}

/** The peer of the message and stream backends (everything but shmkit-*). */
class MessagePeer {
  run: PeerRun | undefined;

  constructor(
    private readonly backend: BackendId,
    private readonly path: Path,
  ) {}

  async onControl(m: Control): Promise<void> {
    switch (m.shmkit$) {
      case 'prepare':
        this.run = new PeerRun(m.spec, this.backend);
        this.path.control({ shmkit$: 'prepared' });
        return;
      case 'go': {
        const run = this.need();
        run.cpu0 = process.cpuUsage();
        if (run.spec.pattern === 'rtt') {
          this.path.control({ shmkit$: 'going' });
          return;
        }
        const { maker, codec } = run;
        for (let i = 0; i < run.spec.n; i++) {
          const wait = this.path.send(codec.encode(maker.make(i)));
          if (wait !== undefined) await wait;
        }
        const drained = this.path.flush?.();
        if (drained !== undefined) await drained;
        this.path.control({ shmkit$: 'done', cpuUs: run.cpuUs() });
        return;
      }
      case 'finish':
        this.path.control({ shmkit$: 'done', cpuUs: this.need().cpuUs() });
        this.run = undefined;
        return;
      default:
        throw new Error(`unexpected control message ${m.shmkit$}`);
    }
  }

  /** A ping: decode it as the application would, and send it back. */
  onData(w: unknown): void {
    const run = this.need();
    if (run.spec.pattern !== 'rtt') throw new Error('data arrived during a stream run');
    run.echoed++;
    void this.path.send(run.codec.encode(run.codec.decode(w)));
    void this.path.flush?.();
  }

  private need(): PeerRun {
    if (this.run === undefined) throw new Error('no run prepared');
    return this.run;
  }
}

/** The peer of every shmkit-* backend: blocking channel loops. */
class ChannelPeer {
  private run: PeerRun | undefined;
  private data: Channel<unknown> | undefined;
  private ping: Channel<unknown> | undefined;
  private pong: Channel<unknown> | undefined;
  private segment: Segment | undefined;

  constructor(
    private readonly backend: BackendId,
    private readonly control: (m: Control) => void,
  ) {}

  async onControl(m: Control): Promise<void> {
    switch (m.shmkit$) {
      case 'prepare':
        await this.prepare(m.spec);
        this.control({ shmkit$: 'prepared' });
        return;
      case 'go': {
        const run = this.need();
        const { n, timeoutMs } = run.spec;
        const wait = { timeout: timeoutMs };
        run.cpu0 = process.cpuUsage();
        if (run.spec.pattern === 'stream') {
          const ch = this.data!;
          const maker = run.maker;
          if (this.backend.endsWith('-batch')) sendBatches(ch, maker, n, wait);
          else for (let i = 0; i < n; i++) ch.send(maker.make(i), wait);
          this.control({ shmkit$: 'done', cpuUs: run.cpuUs() });
        } else {
          this.control({ shmkit$: 'going' });
          const ping = this.ping!;
          const pong = this.pong!;
          for (let i = 0; i < n; i++) pong.send(ping.recv(wait), wait);
        }
        return;
      }
      case 'finish':
        this.control({ shmkit$: 'done', cpuUs: this.need().cpuUs() });
        this.release();
        return;
      default:
        throw new Error(`unexpected control message ${m.shmkit$}`);
    }
  }

  private async prepare(spec: WireSpec): Promise<void> {
    this.release();
    this.run = new PeerRun(spec, this.backend);
    const codec = channelCodec(this.backend, spec.kind);
    if (spec.segment !== undefined) {
      const loaded = await loadSegment();
      if (!loaded.ok) throw new Error(loaded.reason);
      const seg = loaded.value.open(spec.segment, { timeout: spec.timeoutMs });
      this.segment = seg;
      const o = { capacity: spec.capacity!, codec } as const;
      if (spec.pattern === 'stream') this.data = seg.channel<unknown>('data', o);
      else {
        this.ping = seg.channel<unknown>('ping', o);
        this.pong = seg.channel<unknown>('pong', o);
      }
      return;
    }
    const hs = spec.channels ?? {};
    // A codec name travels in the handle; a Codec object (the struct's) is given again here.
    const o = typeof codec === 'string' ? undefined : { codec };
    this.data = hs.data && Channel.from<unknown>(hs.data, o);
    this.ping = hs.ping && Channel.from<unknown>(hs.ping, o);
    this.pong = hs.pong && Channel.from<unknown>(hs.pong, o);
  }

  private release(): void {
    this.run = undefined;
    this.data = this.ping = this.pong = undefined;
    const seg = this.segment;
    this.segment = undefined;
    seg?.close();
  }

  private need(): PeerRun {
    if (this.run === undefined) throw new Error('no run prepared');
    return this.run;
  }
}

/** Bytes one sendMany carries at most: larger messages go fewer at a time (one, from 256 KiB). */
const BATCH_BYTES = 256 << 10;

/**
 * sendMany in batches of BATCH (fewer for large messages: 64 distinct 1 MiB buffers would be 64 MiB
 * of cold memory); bytes messages are stamped into buffers of their own, as maker.make would.
 */
function sendBatches(ch: Channel<unknown>, maker: MessageMaker, n: number, wait: { timeout: number }): void {
  const size = maker.scratch?.length ?? 0;
  const per = maker.kind === 'bytes' ? Math.max(1, Math.min(BATCH, Math.floor(BATCH_BYTES / size))) : BATCH;
  const pool = maker.kind === 'bytes' ? Array.from({ length: per }, () => maker.scratch!.slice()) : [];
  const batch: unknown[] = [];
  for (let i = 0; i < n; ) {
    batch.length = 0;
    for (let k = 0; k < per && i < n; k++, i++) {
      if (maker.kind === 'bytes') {
        stamp(pool[k]!, i);
        batch.push(pool[k]);
      } else batch.push(maker.make(i));
    }
    ch.sendMany(batch, wait);
  }
}

/** uds-batched: frames gathered and written 64 KiB at a time (one syscall for many messages). */
function coalescing(control: (m: Control) => void, output: net.Socket): Path {
  const LIMIT = 64 << 10;
  let chunk = Buffer.allocUnsafe(LIMIT);
  let used = 0;
  const flush = (): Promise<void> | undefined => {
    if (used === 0) return undefined;
    // The socket keeps the chunk until written: the next frames go to a new one.
    const full = chunk.subarray(0, used);
    chunk = Buffer.allocUnsafe(LIMIT);
    used = 0;
    return output.write(full) ? undefined : drained(output);
  };
  return {
    control,
    send: (w) => {
      const p = w as Uint8Array;
      let wait: Promise<void> | undefined;
      if (used + 4 + p.length > LIMIT) wait = flush();
      if (4 + p.length > LIMIT) {
        const big = output.write(frame(p)) ? undefined : drained(output);
        return wait ?? big;
      }
      chunk.writeUInt32LE(p.length, used);
      chunk.set(p, used + 4);
      used += 4 + p.length;
      return wait;
    },
    flush,
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Serializes control handling: a message waits until the one before it is done. */
function sequential(
  handle: (m: Control) => Promise<void>,
  report: (e: unknown) => void,
): (m: Control) => void {
  let chain = Promise.resolve();
  return (m) => {
    chain = chain.then(() => handle(m)).catch(report);
  };
}

/** Entry of workers/thread-peer.mjs. */
export async function runThreadPeer(): Promise<void> {
  const { parentPort, workerData } = await import('node:worker_threads');
  if (parentPort === null) throw new Error('runThreadPeer must run in a worker thread');
  const port = parentPort;
  const { backend } = workerData as ThreadPeerData;
  const control = (m: Control): void => port.postMessage(m);
  const report = (e: unknown): void => control({ shmkit$: 'error', message: errorText(e) });
  if (familyOf(backend) === 'channel') {
    const peer = new ChannelPeer(backend, control);
    const onControl = sequential((m) => peer.onControl(m), report);
    port.on('message', (m: unknown) => {
      if (isControl(m)) onControl(m);
    });
  } else {
    const peer = new MessagePeer(backend, {
      control,
      send: (w) => {
        port.postMessage(w);
        return undefined;
      },
    });
    const onControl = sequential((m) => peer.onControl(m), report);
    port.on('message', (m: unknown) => {
      if (isControl(m)) onControl(m);
      else {
        try {
          peer.onData(m);
        } catch (e) {
          report(e);
        }
      }
    });
  }
  control({ shmkit$: 'ready' });
}

/** Entry of workers/child-peer.mjs. */
export async function runChildPeer(): Promise<void> {
  const backend = process.env[ENV_BACKEND] as BackendId | undefined;
  if (backend === undefined || typeof process.send !== 'function') {
    throw new Error('child-peer.mjs is started by @shmkit/bench with an IPC channel; do not run it directly');
  }
  // The parent went away (finished, crashed, killed): so do we.
  process.on('disconnect', () => process.exit(0));
  const send = process.send.bind(process);
  const control = (m: Control): void => {
    send(m);
  };
  const report = (e: unknown): void => control({ shmkit$: 'error', message: errorText(e) });
  let onControl: (m: Control) => void;
  let onData: ((w: unknown) => void) | undefined;

  const family = familyOf(backend);
  if (backend === 'nats' || backend === 'nats-durable')
    onControl = sequential(await runNatsPeer(backend, control), report);
  else if (family === 'channel') {
    const peer = new ChannelPeer(backend, control);
    onControl = sequential((m) => peer.onControl(m), report);
  } else if (family === 'frame') {
    const { input, output } = await connect(backend);
    const peer = new MessagePeer(
      backend,
      backend === 'uds-batched'
        ? coalescing(control, output)
        : { control, send: (w) => (output.write(frame(w as Uint8Array)) ? undefined : drained(output)) },
    );
    const reader = new FrameReader((payload) => peer.onData(payload));
    input.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (e) {
        report(e);
      }
    });
    input.on('error', report);
    output.on('error', report);
    onControl = sequential((m) => peer.onControl(m), report);
  } else {
    // child IPC: data on the IPC channel itself. process.send queues without bound; keep at most
    // `high` messages in flight (their callbacks say when they left), like a socket's drain.
    let inflight = 0;
    let high = 64;
    let resume: (() => void) | undefined;
    const sent = (): void => {
      inflight--;
      if (resume !== undefined && inflight <= high >> 1) {
        const r = resume;
        resume = undefined;
        r();
      }
    };
    const peer = new MessagePeer(backend, {
      control,
      send: (w) => {
        inflight++;
        send(w, undefined, undefined, sent);
        return inflight < high ? undefined : new Promise<void>((r) => (resume = r));
      },
    });
    const handle = sequential((m) => {
      if (m.shmkit$ === 'prepare') high = Math.max(8, Math.floor((4 << 20) / Math.max(1, m.spec.size)));
      return peer.onControl(m);
    }, report);
    onControl = handle;
    onData = (w) => peer.onData(w);
  }

  process.on('message', (m: unknown) => {
    if (isControl(m)) {
      if (m.shmkit$ === 'quit') process.exit(0);
      onControl(m);
    } else if (onData !== undefined) {
      try {
        onData(m);
      } catch (e) {
        report(e);
      }
    } else report(new Error('data arrived on the control channel'));
  });
  control({ shmkit$: 'ready' });
}

/** The data streams of a frame backend: a socket to the parent's server, or the stdio pipes. */
async function connect(backend: BackendId): Promise<{ input: net.Socket; output: net.Socket }> {
  if (backend === 'pipe') {
    const output = new net.Socket({ fd: PIPE_OUT, readable: false, writable: true });
    const input = new net.Socket({ fd: PIPE_IN, readable: true, writable: false });
    return { input, output };
  }
  const address = JSON.parse(process.env[ENV_ADDRESS] ?? '{}') as {
    path?: string;
    host?: string;
    port?: number;
  };
  const socket =
    address.path !== undefined
      ? net.connect({ path: address.path })
      : net.connect({ host: address.host ?? '127.0.0.1', port: address.port ?? 0, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (backend === 'tcp') socket.setNoDelay(true);
  return { input: socket, output: socket };
}

/** Resolves at the socket's next 'drain'; rejects if it closes first. */
function drained(s: net.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      s.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      s.off('drain', onDrain);
      reject(new Error('the data stream closed'));
    };
    s.once('drain', onDrain);
    s.once('close', onClose);
  });
}
