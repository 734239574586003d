/**
 * The sessions whose data arrives through events: MessageSession (data on the control path
 * itself: postmessage, child-ipc-json, child-ipc-advanced) and FrameSession (length-prefixed
 * frames on a byte stream: uds, uds-batched, tcp, pipe; control on child IPC). See session.ts.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ShmkitError } from '@shmkit/core';
import { type Peer, type PeerLink, startChildPeer } from './link.js';
import { MessageMaker, Verifier } from './payload.js';
import { PIPE_IN, PIPE_OUT } from './protocol.js';
import {
  cpuSince,
  newHistogram,
  outcome,
  type RunOutcome,
  type RunSpec,
  recordTrip,
  type Session,
  toWire,
} from './session.js';
import type { BackendId, Where } from './types.js';
import { FrameReader, familyOf, frame, type WireCodec, wireCodec } from './wire.js';

/** Data arrives through a callback; the runs are event driven. */
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
        recordTrip(histogram, sentAt, t);
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

/** Data on the control path itself (postmessage, child-ipc-json, child-ipc-advanced). */
export class MessageSession extends CallbackSession {
  protected override readonly dataBeforeDone = true;

  protected onData(fn: ((w: unknown) => void) | undefined): void {
    this.link.onData = fn;
  }
  protected sendData(w: unknown): void {
    this.link.send(w);
  }
}

/** Length-prefixed frames on a byte stream (uds, tcp, pipe); control on child IPC. */
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

/** Opens a frame backend: a socket to a child (uds, uds-batched, tcp), or its stdio pipes. */
export async function openFrame(id: 'uds' | 'uds-batched' | 'tcp' | 'pipe'): Promise<Session> {
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
