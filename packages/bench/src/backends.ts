/**
 * The backends: how the main side of each one opens its peer and runs one stream or rtt run.
 *
 * A Backend opens a Session (a started peer plus its data path), which runs any number of runs,
 * each `prepare` (untimed) then `go` (timed). Three session kinds cover every backend:
 *
 * - MessageSession: data on the control path itself (postmessage, child-ipc-json, child-ipc-advanced).
 * - FrameSession: length-prefixed frames on a byte stream (uds, tcp, pipe); control on child IPC.
 * - ChannelSession: shmkit Channels (shmkit-thread, shmkit-thread-async, shmkit-process).
 *
 * The main side always receives: stream runs go peer -> main, and main verifies every message;
 * rtt runs ping from main and verify every echo. CPU time: process.cpuUsage() of this process
 * (which includes its worker threads) plus the child's own, reported at the end of the run.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CHANNEL_LIMITS, Channel } from '@shmkit/channel';
import { ShmkitError } from '@shmkit/core';
import * as hdr from 'hdr-histogram-js';
import { natsBackend } from './backend-nats.js';
import { PYTHON_BACKENDS } from './backend-python.js';
import { structBackend } from './backend-struct.js';
import { type Peer, type PeerLink, startChildPeer, startThreadPeer } from './link.js';
import { MessageMaker, Verifier } from './payload.js';
import { BATCH, type Control, PIPE_IN, PIPE_OUT, type WireSpec } from './protocol.js';
import { loadSegment, type SegmentLike, type SegmentStatic } from './segment-api.js';
import type { BackendId, Pattern, PayloadKind, Where } from './types.js';
import { FrameReader, familyOf, frame, type WireCodec, type WireFamily, wireCodec } from './wire.js';

/** One run: `n` messages (stream) or round trips (rtt). */
export interface RunSpec {
  pattern: Pattern;
  kind: PayloadKind;
  size: number;
  n: number;
  /** Object bodies (objects only). */
  pool: unknown[];
  /** Bound of every wait of the run. */
  timeoutMs: number;
  /** Largest encoded message (objects: the largest msgpack envelope); sizes the shmkit rings. */
  maxEncoded: number;
}

export interface RunOutcome {
  n: number;
  elapsedMs: number;
  /** CPU µs of both sides. */
  cpuUs: number;
  verified: boolean;
  why: string | undefined;
  /** rtt: every round trip, in nanoseconds. */
  histogram: hdr.Histogram | undefined;
}

export interface Session {
  run(spec: RunSpec): Promise<RunOutcome>;
  /** Whether it can run again (false after a failure). */
  readonly usable: boolean;
  close(): Promise<void>;
}

export interface Backend {
  readonly id: BackendId;
  readonly where: Where;
  readonly family: WireFamily;
  /** What it is, in a few words. */
  readonly summary: string;
  /** Why it cannot run here, or undefined. */
  unavailable(): Promise<string | undefined>;
  open(): Promise<Session>;
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({ numberOfSignificantValueDigits: 3 });
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

function toWire(spec: RunSpec): WireSpec {
  return {
    pattern: spec.pattern,
    kind: spec.kind,
    size: spec.size,
    n: spec.n,
    timeoutMs: spec.timeoutMs,
    ...(spec.kind === 'object' ? { pool: spec.pool } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Message and frame sessions: data arrives through a callback; the runs are event driven.

abstract class CallbackSession implements Session {
  constructor(
    protected readonly peer: Peer,
    protected readonly id: BackendId,
    protected readonly where: Where,
  ) {}

  get usable(): boolean {
    return !this.peer.link.broken;
  }

  protected get link(): PeerLink {
    return this.peer.link;
  }

  /** Whether the peer's data and its `done` travel one ordered path (postMessage, child IPC). */
  protected readonly dataBeforeDone: boolean = false;

  /** Routes the peer's data messages to `fn` (decoded by the caller). */
  protected abstract onData(fn: ((w: unknown) => void) | undefined): void;
  /** Sends one data message to the peer. */
  protected abstract sendData(w: unknown): void;

  async run(spec: RunSpec): Promise<RunOutcome> {
    const codec = wireCodec(familyOf(this.id), spec.kind);
    await this.link.request({ shmkit$: 'prepare', spec: toWire(spec) }, 'prepared', spec.timeoutMs);
    const v = new Verifier(spec.kind, spec.size, spec.pool);
    try {
      return spec.pattern === 'stream' ? await this.stream(spec, codec, v) : await this.rtt(spec, codec, v);
    } finally {
      this.onData(undefined);
    }
  }

  private async stream(spec: RunSpec, codec: WireCodec, v: Verifier): Promise<RunOutcome> {
    const n = spec.n;
    let end = 0;
    const got = new Promise<void>((resolve) => {
      this.onData((w) => {
        v.accept(codec.decode(w));
        if (v.count === n) {
          end = performance.now();
          resolve();
        }
      });
    });
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    this.link.send({ shmkit$: 'go' });
    const doneReply = this.link.expect('done', spec.timeoutMs);
    // Where data and control share one ordered path, `done` comes after the last message: a
    // message that has not arrived by then never will (the verdict says how many did).
    const finished = this.dataBeforeDone
      ? Promise.race([got, doneReply.then(() => undefined)]).then(() => {
          if (end === 0) end = performance.now();
        })
      : got;
    const [, done] = await this.link.within(
      Promise.all([finished, doneReply]),
      spec.timeoutMs,
      `receiving ${n} messages`,
    );
    return outcome(this.where, spec, v, end - start, cpuSince(cpu0), done, undefined);
  }

  private async rtt(spec: RunSpec, codec: WireCodec, v: Verifier): Promise<RunOutcome> {
    const n = spec.n;
    const maker = new MessageMaker(spec.kind, spec.size, spec.pool);
    const histogram = newHistogram();
    await this.link.request({ shmkit$: 'go' }, 'going', spec.timeoutMs);
    let i = 0;
    let sentAt = 0;
    let end = 0;
    const got = new Promise<void>((resolve) => {
      this.onData((w) => {
        const t = performance.now();
        histogram.recordValue(Math.max(1, Math.round((t - sentAt) * 1e6)));
        v.accept(codec.decode(w));
        if (++i < n) {
          sentAt = performance.now();
          this.sendData(codec.encode(maker.make(i)));
        } else {
          end = t;
          resolve();
        }
      });
    });
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    sentAt = start;
    this.sendData(codec.encode(maker.make(0)));
    await this.link.within(got, spec.timeoutMs, `waiting for ${n} round trips`);
    const cpu = cpuSince(cpu0);
    const done = await this.link.request({ shmkit$: 'finish' }, 'done', spec.timeoutMs);
    return outcome(this.where, spec, v, end - start, cpu, done, histogram);
  }

  close(): Promise<void> {
    return this.peer.stop();
  }
}

class MessageSession extends CallbackSession {
  protected override readonly dataBeforeDone = true;

  protected onData(fn: ((w: unknown) => void) | undefined): void {
    this.link.onData = fn;
  }
  protected sendData(w: unknown): void {
    this.link.send(w);
  }
}

class FrameSession extends CallbackSession {
  private data: ((w: unknown) => void) | undefined;

  constructor(
    peer: Peer,
    id: BackendId,
    private readonly input: net.Socket,
    private readonly output: net.Socket,
    private readonly cleanup: () => void,
  ) {
    super(peer, id, 'process');
    const reader = new FrameReader((payload) => {
      const fn = this.data;
      if (fn === undefined)
        return this.link.fail(new ShmkitError('CORRUPT', `${id}: a frame arrived outside a run`));
      try {
        fn(payload);
      } catch (e) {
        this.link.fail(e as Error);
      }
    });
    input.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (e) {
        this.link.fail(e as Error);
      }
    });
    const broken = (e?: Error): void =>
      this.link.fail(e ?? new ShmkitError('PEER_DEAD', `${id}: the data stream closed`));
    input.on('error', broken);
    output.on('error', broken);
    input.on('close', () => broken());
  }

  protected onData(fn: ((w: unknown) => void) | undefined): void {
    this.data = fn;
  }
  protected sendData(w: unknown): void {
    this.output.write(frame(w as Uint8Array));
  }

  override async close(): Promise<void> {
    this.input.destroy();
    this.output.destroy();
    try {
      await this.peer.stop();
    } finally {
      this.cleanup();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Channel sessions: the main side runs blocking (or async) loops over shmkit Channels.

/** Ring bytes for messages of up to `max` encoded bytes: at least 1 MiB, each message in one frame. */
export function capacityFor(max: number): number {
  let c = 1 << 20;
  while (CHANNEL_LIMITS.maxFrameSize(c) < max) c *= 2;
  return c;
}

let segmentCounter = 0;
/** Segments this process created and has not removed yet: removed on exit, even on Ctrl-C. */
const liveSegments = new Map<string, SegmentStatic>();
let segmentExitHook = false;

function trackSegment(name: string, api: SegmentStatic): void {
  if (!segmentExitHook) {
    segmentExitHook = true;
    process.on('exit', () => {
      for (const [n, s] of liveSegments) {
        try {
          s.unlink(n);
        } catch {
          // gone already
        }
      }
    });
  }
  liveSegments.set(name, api);
}

class ChannelSession implements Session {
  constructor(
    private readonly peer: Peer,
    private readonly where: Where,
    private readonly useAsync: boolean,
    private readonly segments: SegmentStatic | undefined,
    /** shmkit-*-batch: streams are received with recvMany (the peer sends with sendMany). */
    private readonly batch = false,
  ) {}

  get usable(): boolean {
    return !this.peer.link.broken;
  }

  async run(spec: RunSpec): Promise<RunOutcome> {
    const link = this.peer.link;
    const capacity = capacityFor(spec.maxEncoded);
    const codec = spec.kind === 'bytes' ? 'bytes' : 'msgpack';
    const keys = spec.pattern === 'stream' ? (['data'] as const) : (['ping', 'pong'] as const);
    const wire = toWire(spec);
    const chans: Partial<Record<'data' | 'ping' | 'pong', Channel<unknown>>> = {};
    let seg: SegmentLike | undefined;
    let segName: string | undefined;
    if (this.segments !== undefined) {
      segName = `shmkit-bench-${process.pid}-${++segmentCounter}`;
      const size = keys.length * (Channel.byteLength(capacity) + (64 << 10)) + (1 << 20);
      seg = this.segments.create(segName, { size });
      trackSegment(segName, this.segments);
      for (const k of keys) chans[k] = seg.channel<unknown>(k, { capacity, codec });
      wire.segment = segName;
      wire.capacity = capacity;
    } else {
      wire.channels = {};
      for (const k of keys) {
        const ch = new Channel<unknown>({ capacity, codec });
        chans[k] = ch;
        wire.channels[k] = ch.handle;
      }
    }
    try {
      await link.request({ shmkit$: 'prepare', spec: wire }, 'prepared', spec.timeoutMs);
      const v = new Verifier(spec.kind, spec.size, spec.pool);
      return spec.pattern === 'stream'
        ? await this.stream(spec, chans.data!, v)
        : await this.rtt(spec, chans.ping!, chans.pong!, v);
    } finally {
      seg?.close();
      if (segName !== undefined) {
        liveSegments.delete(segName);
        try {
          this.segments!.unlink(segName);
        } catch {
          // already gone
        }
      }
    }
  }

  private async stream(spec: RunSpec, ch: Channel<unknown>, v: Verifier): Promise<RunOutcome> {
    const link = this.peer.link;
    const n = spec.n;
    const wait = { timeout: spec.timeoutMs };
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    link.send({ shmkit$: 'go' });
    if (this.batch) {
      for (let got = 0; got < n; ) {
        const ms = ch.recvMany(Math.min(BATCH, n - got), wait);
        for (const m of ms) v.accept(m);
        got += ms.length;
      }
    } else if (this.useAsync) for (let i = 0; i < n; i++) v.accept(await ch.recvAsync(wait));
    else for (let i = 0; i < n; i++) v.accept(ch.recv(wait));
    const elapsedMs = performance.now() - start;
    const done = await link.expect('done', spec.timeoutMs);
    return outcome(this.where, spec, v, elapsedMs, cpuSince(cpu0), done, undefined);
  }

  private async rtt(
    spec: RunSpec,
    ping: Channel<unknown>,
    pong: Channel<unknown>,
    v: Verifier,
  ): Promise<RunOutcome> {
    const link = this.peer.link;
    const n = spec.n;
    const wait = { timeout: spec.timeoutMs };
    const maker = new MessageMaker(spec.kind, spec.size, spec.pool);
    const histogram = newHistogram();
    await link.request({ shmkit$: 'go' }, 'going', spec.timeoutMs);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let t = start;
    if (this.useAsync) {
      for (let i = 0; i < n; i++) {
        const sentAt = performance.now();
        await ping.sendAsync(maker.make(i), wait);
        const back = await pong.recvAsync(wait);
        t = performance.now();
        histogram.recordValue(Math.max(1, Math.round((t - sentAt) * 1e6)));
        v.accept(back);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const sentAt = performance.now();
        ping.send(maker.make(i), wait);
        const back = pong.recv(wait);
        t = performance.now();
        histogram.recordValue(Math.max(1, Math.round((t - sentAt) * 1e6)));
        v.accept(back);
      }
    }
    const cpu = cpuSince(cpu0);
    const done = await link.request({ shmkit$: 'finish' }, 'done', spec.timeoutMs);
    return outcome(this.where, spec, v, t - start, cpu, done, histogram);
  }

  close(): Promise<void> {
    return this.peer.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The backends.

const always = async (): Promise<undefined> => undefined;

async function openFrame(id: 'uds' | 'uds-batched' | 'tcp' | 'pipe'): Promise<Session> {
  if (id === 'pipe') {
    const peer = await startChildPeer(id, { extraStdio: ['pipe', 'pipe'] });
    const stdio = peer.child!.stdio as unknown as net.Socket[];
    // The child writes PIPE_OUT and reads PIPE_IN.
    return new FrameSession(peer, id, stdio[PIPE_OUT]!, stdio[PIPE_IN]!, () => {});
  }
  const server = net.createServer();
  const sockPath =
    id === 'uds' || id === 'uds-batched'
      ? path.join(os.tmpdir(), `shmkit-bench-${process.pid}-${randomBytes(4).toString('hex')}.sock`)
      : undefined;
  const removeSocket = (): void => {
    if (sockPath !== undefined) rmSync(sockPath, { force: true });
  };
  // Removed on close, or when this process exits first (an error, Ctrl-C).
  process.once('exit', removeSocket);
  const cleanup = (): void => {
    server.close();
    removeSocket();
    process.off('exit', removeSocket);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (sockPath !== undefined) server.listen(sockPath, resolve);
      else server.listen(0, '127.0.0.1', resolve);
    });
    const address =
      sockPath !== undefined
        ? { path: sockPath }
        : { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const peer = await startChildPeer(id, { address });
    let socket: net.Socket;
    try {
      socket = await peer.link.within(accepted, 20_000, 'for the connection');
    } catch (e) {
      await peer.stop();
      throw e;
    }
    if (id === 'tcp') socket.setNoDelay(true);
    // Only our own child may connect: no second connection is accepted.
    server.on('connection', (s) => s.destroy());
    return new FrameSession(peer, id, socket, socket, cleanup);
  } catch (e) {
    cleanup();
    throw e;
  }
}

function backend(
  id: BackendId,
  where: Where,
  summary: string,
  open: () => Promise<Session>,
  unavailable: () => Promise<string | undefined> = always,
): Backend {
  return { id, where, family: familyOf(id), summary, open, unavailable };
}

const BACKENDS: Record<BackendId, Backend> = {
  ...PYTHON_BACKENDS,
  postmessage: backend(
    'postmessage',
    'thread',
    'worker_threads postMessage (structured clone)',
    async () => new MessageSession(await startThreadPeer('postmessage'), 'postmessage', 'thread'),
  ),
  'child-ipc-json': backend(
    'child-ipc-json',
    'process',
    "child_process.fork IPC, serialization 'json' (bytes as base64)",
    async () =>
      new MessageSession(
        await startChildPeer('child-ipc-json', { serialization: 'json' }),
        'child-ipc-json',
        'process',
      ),
  ),
  'child-ipc-advanced': backend(
    'child-ipc-advanced',
    'process',
    "child_process.fork IPC, serialization 'advanced' (V8 serializer)",
    async () =>
      new MessageSession(
        await startChildPeer('child-ipc-advanced', { serialization: 'advanced' }),
        'child-ipc-advanced',
        'process',
      ),
  ),
  uds: backend('uds', 'process', 'UNIX domain socket, length-prefixed frames', () => openFrame('uds')),
  'uds-batched': backend(
    'uds-batched',
    'process',
    'UNIX domain socket, many length-prefixed frames per write (the best a socket does)',
    () => openFrame('uds-batched'),
  ),
  tcp: backend('tcp', 'process', 'TCP on 127.0.0.1 (TCP_NODELAY), length-prefixed frames', () =>
    openFrame('tcp'),
  ),
  pipe: backend('pipe', 'process', 'child stdio pipes (socketpairs on Linux), length-prefixed frames', () =>
    openFrame('pipe'),
  ),
  'shmkit-thread': backend(
    'shmkit-thread',
    'thread',
    'shmkit Channel over a SharedArrayBuffer, blocking send/recv',
    async () => new ChannelSession(await startThreadPeer('shmkit-thread'), 'thread', false, undefined),
  ),
  'shmkit-thread-async': backend(
    'shmkit-thread-async',
    'thread',
    'shmkit Channel over a SharedArrayBuffer, main side sendAsync/recvAsync',
    async () => new ChannelSession(await startThreadPeer('shmkit-thread-async'), 'thread', true, undefined),
  ),
  'shmkit-thread-struct': structBackend,
  'shmkit-thread-batch': backend(
    'shmkit-thread-batch',
    'thread',
    'shmkit Channel over a SharedArrayBuffer, sendMany/recvMany batches',
    async () =>
      new ChannelSession(await startThreadPeer('shmkit-thread-batch'), 'thread', false, undefined, true),
  ),
  'shmkit-process-batch': backend(
    'shmkit-process-batch',
    'process',
    'shmkit Channel in a named shared-memory Segment, sendMany/recvMany batches',
    async () => {
      const loaded = await loadSegment();
      if (!loaded.ok) throw new Error(loaded.reason);
      return new ChannelSession(
        await startChildPeer('shmkit-process-batch'),
        'process',
        false,
        loaded.value,
        true,
      );
    },
    async () => {
      const loaded = await loadSegment();
      return loaded.ok ? undefined : loaded.reason;
    },
  ),
  'shmkit-process': backend(
    'shmkit-process',
    'process',
    'shmkit Channel in a named shared-memory Segment, blocking send/recv',
    async () => {
      const loaded = await loadSegment();
      if (!loaded.ok) throw new ShmkitError('UNSUPPORTED', loaded.reason);
      return new ChannelSession(await startChildPeer('shmkit-process'), 'process', false, loaded.value);
    },
    async () => {
      const loaded = await loadSegment();
      return loaded.ok ? undefined : loaded.reason;
    },
  ),
  nats: natsBackend('nats'),
  'nats-durable': natsBackend('nats-durable'),
};

export function getBackend(id: BackendId): Backend {
  return BACKENDS[id];
}

/**
 * The outcome of one timed run. CPU time: a peer thread's time is already in this process's
 * process.cpuUsage(), a peer process's is added from what it reported when it finished.
 */
function outcome(
  where: Where,
  spec: RunSpec,
  v: Verifier,
  elapsedMs: number,
  mainCpuUs: number,
  done: Control,
  histogram: hdr.Histogram | undefined,
): RunOutcome {
  const peerCpu = done.shmkit$ === 'done' ? done.cpuUs : 0;
  const { verified, why } = v.verdict(spec.n);
  return {
    n: spec.n,
    elapsedMs,
    cpuUs: where === 'thread' ? mainCpuUs : mainCpuUs + peerCpu,
    verified,
    why,
    histogram,
  };
}
