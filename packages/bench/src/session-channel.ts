/**
 * ChannelSession: the shmkit-* backends. The main side creates the Channels (in a
 * SharedArrayBuffer, or in a named Segment for shmkit-process*), hands them to the peer, and runs
 * blocking (or async, or poll/recvMany) loops over them. See session.ts.
 */
import { CHANNEL_LIMITS, Channel } from '@shmkit/channel';
import type { Peer } from './link.js';
import { MessageMaker, Verifier } from './payload.js';
import { BATCH } from './protocol.js';
import type { Segment, SegmentStatic } from './segment-api.js';
import {
  cpuSince,
  newHistogram,
  outcome,
  type RunOutcome,
  type RunSpec,
  roundTrips,
  roundTripsAsync,
  type Session,
  toWire,
} from './session.js';
import type { BackendId, Where } from './types.js';
import { channelCodec } from './wire.js';

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

/** How a ChannelSession receives, and where its Channels live. */
export interface ChannelMode {
  /** The backend (its codec: wire.ts, channelCodec). */
  id: BackendId;
  /** Main side sendAsync / recvAsync instead of blocking calls. */
  async?: boolean;
  /** shmkit-*-batch: streams are received with poll (bytes) or recvMany (the peer sends with sendMany). */
  batch?: boolean;
  /** shmkit-process*: the Channels live in a named Segment made with this class. */
  segments?: SegmentStatic;
}

/** shmkit Channels: the main side runs blocking (or async) loops over them. */
export class ChannelSession implements Session {
  private readonly where: Where;

  constructor(
    private readonly peer: Peer,
    private readonly mode: ChannelMode,
  ) {
    this.where = mode.segments === undefined ? 'thread' : 'process';
  }

  get usable(): boolean {
    return !this.peer.link.broken;
  }

  async run(spec: RunSpec): Promise<RunOutcome> {
    const link = this.peer.link;
    const capacity = capacityFor(spec.maxEncoded);
    const codec = channelCodec(this.mode.id, spec.kind);
    const segments = this.mode.segments;
    const keys = spec.pattern === 'stream' ? (['data'] as const) : (['ping', 'pong'] as const);
    const wire = toWire(spec);
    const chans: Partial<Record<'data' | 'ping' | 'pong', Channel<unknown>>> = {};
    let seg: Segment | undefined;
    let segName: string | undefined;
    if (segments !== undefined) {
      segName = `shmkit-bench-${process.pid}-${++segmentCounter}`;
      const size = keys.length * (Channel.byteLength(capacity) + (64 << 10)) + (1 << 20);
      seg = segments.create(segName, { size });
      trackSegment(segName, segments);
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
          segments!.unlink(segName);
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
    if (this.mode.batch && spec.kind === 'bytes') {
      // sendMany/poll: the handler sees each message in the ring (a view, as uds-batched's reader
      // hands out views of its read buffer); poll releases once per call.
      const accept = (buf: Uint8Array, off: number, len: number): void =>
        v.accept(buf.subarray(off, off + len));
      for (let got = 0; got < n; ) {
        ch.waitReadable(wait);
        got += ch.poll(accept, Math.min(BATCH, n - got));
      }
    } else if (this.mode.batch) {
      for (let got = 0; got < n; ) {
        const ms = ch.recvMany(Math.min(BATCH, n - got), wait);
        for (const m of ms) v.accept(m);
        got += ms.length;
      }
    } else if (this.mode.async) for (let i = 0; i < n; i++) v.accept(await ch.recvAsync(wait));
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
    const maker = new MessageMaker(spec.kind, spec.size, spec.pool);
    const histogram = newHistogram();
    await link.request({ shmkit$: 'go' }, 'going', spec.timeoutMs);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const ends = { ping, pong };
    const t = this.mode.async
      ? await roundTripsAsync(ends, maker, spec.n, v, histogram, spec.timeoutMs)
      : roundTrips(ends, maker, spec.n, v, histogram, spec.timeoutMs);
    const cpu = cpuSince(cpu0);
    const done = await link.request({ shmkit$: 'finish' }, 'done', spec.timeoutMs);
    return outcome(this.where, spec, v, t - start, cpu, done, histogram);
  }

  close(): Promise<void> {
    return this.peer.stop();
  }
}
