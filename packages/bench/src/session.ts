/**
 * What a backend is, and what every session shares: a Backend opens a Session (a started peer
 * plus its data path), which runs any number of runs, each `prepare` (untimed) then `go` (timed).
 * The session kinds: session-callback.ts (data through events: postMessage, child IPC, byte
 * streams), session-channel.ts (shmkit Channels), backend-nats.ts and backend-python.ts.
 *
 * The main side always receives: stream runs go peer -> main, and main verifies every message;
 * rtt runs ping from main and verify every echo. CPU time: process.cpuUsage() of this process
 * (which includes its worker threads) plus a child's own, reported at the end of the run.
 */
import * as hdr from 'hdr-histogram-js';
import type { MessageMaker, Verifier } from './payload.js';
import type { Control, WireSpec } from './protocol.js';
import type { BackendId, Pattern, PayloadKind, Where } from './types.js';
import type { WireFamily } from './wire.js';

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

/** Records one round trip from `sentAt` to `t` (performance.now() milliseconds), in nanoseconds. */
export function recordTrip(h: hdr.Histogram, sentAt: number, t: number): void {
  h.recordValue(Math.max(1, Math.round((t - sentAt) * 1e6)));
}

export function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

/** What the peer is told about a run (the main side adds its channels or segment). */
export function toWire(spec: RunSpec): WireSpec {
  return {
    pattern: spec.pattern,
    kind: spec.kind,
    size: spec.size,
    n: spec.n,
    timeoutMs: spec.timeoutMs,
    ...(spec.kind === 'object' ? { pool: spec.pool } : {}),
  };
}

/**
 * The outcome of one timed run. CPU time: a peer thread's time is already in this process's
 * process.cpuUsage(), a peer process's is added from what it reported when it finished.
 */
export function outcome(
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

/** The two ends of a blocking ping-pong (Channel). */
export interface BlockingEnds {
  ping: { send(m: unknown, o: { timeout: number }): unknown };
  pong: { recv(o: { timeout: number }): unknown };
}

/** The two ends of an awaited ping-pong (Channel's async calls, NatsChannel). */
export interface AsyncEnds {
  ping: { sendAsync(m: unknown, o: { timeout: number }): Promise<unknown> };
  pong: { recvAsync(o: { timeout: number }): Promise<unknown> };
}

/**
 * The timed loop of an rtt run with blocking calls: message i (of `n`, made by `maker`) out on
 * `ping`, its echo back on `pong`, each round trip recorded in `h` and verified by `v`, every
 * call bounded by `wait` ms. Returns the time the last echo arrived (performance.now()).
 */
export function roundTrips(
  ends: BlockingEnds,
  maker: MessageMaker,
  n: number,
  v: Verifier,
  h: hdr.Histogram,
  wait: number,
): number {
  const { ping, pong } = ends;
  const o = { timeout: wait };
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    const sentAt = performance.now();
    ping.send(maker.make(i), o);
    const back = pong.recv(o);
    t = performance.now();
    recordTrip(h, sentAt, t);
    v.accept(back);
  }
  return t;
}

/** roundTrips with awaited calls (the event loop stays free between them). */
export async function roundTripsAsync(
  ends: AsyncEnds,
  maker: MessageMaker,
  n: number,
  v: Verifier,
  h: hdr.Histogram,
  wait: number,
): Promise<number> {
  const { ping, pong } = ends;
  const o = { timeout: wait };
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    const sentAt = performance.now();
    await ping.sendAsync(maker.make(i), o);
    const back = await pong.recvAsync(o);
    t = performance.now();
    recordTrip(h, sentAt, t);
    v.accept(back);
  }
  return t;
}
