/**
 * `shmkit recommend`: a short measurement of the backends that fit the user's case (between
 * threads, or between processes), ranked, each with its numbers and a one-line reason.
 */
import { type MeasureOptions, measure } from './measure.js';
import { formatCount, sig } from './report.js';
import type { BackendId, BenchReport, BenchResult, Pattern, Skipped, Where } from './types.js';

export const THREAD_BACKENDS: readonly BackendId[] = [
  'shmkit-thread',
  'shmkit-thread-batch',
  'shmkit-thread-async',
  'postmessage',
];
export const PROCESS_BACKENDS: readonly BackendId[] = [
  'shmkit-process',
  'shmkit-process-batch',
  'child-ipc-advanced',
  'child-ipc-json',
  'uds',
  'uds-batched',
  'tcp',
  'pipe',
];

/** What each backend is like beyond its numbers. */
export const TRAITS: Record<BackendId, string> = {
  postmessage: 'built in, nothing to set up; clones every message and needs the receiver’s event loop',
  'shmkit-thread':
    'shared-memory ring: blocking send/recv (block a worker, or the main thread while it waits)',
  'shmkit-thread-async':
    'shared-memory ring with sendAsync/recvAsync: the event loop stays free while waiting',
  'shmkit-thread-struct':
    'shared-memory ring, objects of a fixed layout (@shmkit/struct): no serializer at all',
  'child-ipc-json':
    'built in to fork(); JSON text, so bytes travel as base64 and Map/Date/BigInt do not survive',
  'child-ipc-advanced':
    "fork() with serialization: 'advanced' (V8 serializer): Buffers, Map, Set, Date, BigInt",
  uds: 'UNIX socket: any two processes (not only parent and child); you write the framing',
  tcp: 'loopback TCP: the same code works across machines; the most kernel work per message',
  pipe: "a child's stdio pipes: no address to manage, parent and child only; you write the framing",
  'shmkit-process':
    'named shared-memory segment: no kernel copy, blocking send/recv; needs the native addon (Linux)',
  'uds-batched':
    'UNIX socket writing many frames per syscall: the most a socket does, at the cost of latency',
  'shmkit-thread-batch': 'shared-memory ring with sendMany/recvMany: one index update and wake per batch',
  'shmkit-process-batch':
    'named shared-memory segment with sendMany/recvMany batches; needs the native addon (Linux)',
  'python-mp-queue': 'Python multiprocessing.Queue: pickles every message, a feeder thread per queue',
  'python-mp-pipe': 'Python multiprocessing.Pipe with send_bytes/recv_bytes: one write/read per message',
  'python-shmkit': 'the shmkit Python package: the same segments and channels as Node, stdlib only',
  nats: 'NATS core publish/subscribe: any machine that reaches the server; at most once, no backpressure',
  'nats-durable':
    'NATS JetStream: stored and acknowledged, exactly once, backpressure; a server with -js and disk',
};

/** Backends that reach other machines, for `--hosts many` (measured on loopback). */
export const NETWORK_BACKENDS: readonly BackendId[] = ['nats', 'nats-durable', 'tcp'];
/** What the network backends are compared with: shared memory between processes on one machine. */
const ONE_MACHINE_BASELINE: BackendId = 'shmkit-process';

export interface RecommendOptions {
  size: number;
  pattern: Pattern;
  objects?: boolean;
  processes?: boolean;
  /** 'many': rank the network backends, and say what crossing machines costs against shared memory. */
  hosts?: 'one' | 'many';
  payloadFile?: string;
  reps?: number;
  targetMs?: number;
  onProgress?: MeasureOptions['onProgress'];
}

export interface Ranked {
  rank: number;
  backend: BackendId;
  result: BenchResult;
  reason: string;
  /** The backend ranked next to this one (before it, or for the first, after it) that it ties with. */
  tiedWith?: BackendId;
}

export interface Recommendation {
  pattern: Pattern;
  payload: 'bytes' | 'object';
  size: number;
  where: Where;
  hosts: 'one' | 'many';
  /** hosts many: the best network backend against shared memory on one machine, in words. */
  crossingCost: string | undefined;
  ranked: Ranked[];
  failed: BenchResult[];
  unavailable: Skipped[];
  report: BenchReport;
}

/** Measures the fitting backends briefly and ranks them (stream: msgs/s; rtt: p50). */
export async function recommend(o: RecommendOptions): Promise<Recommendation> {
  const where: Where = o.processes ? 'process' : 'thread';
  const payload = o.objects || o.payloadFile !== undefined ? 'object' : 'bytes';
  const hosts = o.hosts ?? 'one';
  const report = await measure({
    backends:
      hosts === 'many'
        ? [...NETWORK_BACKENDS, ONE_MACHINE_BASELINE]
        : where === 'process'
          ? PROCESS_BACKENDS
          : THREAD_BACKENDS,
    patterns: [o.pattern],
    payloads: [payload],
    sizes: [o.size],
    reps: o.reps ?? 3,
    targetMs: o.targetMs ?? 50,
    ...(o.payloadFile !== undefined ? { payloadFile: o.payloadFile } : {}),
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
  });
  const measured = report.results.filter((r) => r.verified);
  const baseline = measured.find((r) => r.backend === ONE_MACHINE_BASELINE);
  const ok = hosts === 'many' ? measured.filter((r) => r.backend !== ONE_MACHINE_BASELINE) : measured;
  const score = (r: BenchResult): number =>
    o.pattern === 'stream' ? -(r.msgsPerSec ?? 0) : (r.rttP50Us ?? Infinity);
  ok.sort((a, b) => score(a) - score(b));
  const ranked = ok.map((r, i): Ranked => {
    const other = i === 0 ? ok[1] : ok[i - 1];
    const tie = other !== undefined && ties(r, other);
    return {
      rank: i + 1,
      backend: r.backend,
      result: r,
      reason: tie
        ? `a tie with ${other.backend} (within this run's noise); ${TRAITS[r.backend]}`
        : reason(r, i, ok, o.pattern),
      ...(tie ? { tiedWith: other.backend } : {}),
    };
  });
  return {
    pattern: o.pattern,
    payload,
    size: payload === 'object' ? (report.results[0]?.size ?? 0) : o.size,
    where: hosts === 'many' ? 'process' : where,
    hosts,
    crossingCost:
      hosts === 'many' && ranked[0] !== undefined
        ? crossingCost(ranked[0].result, baseline, o.pattern)
        : undefined,
    ranked,
    failed: report.results.filter((r) => !r.verified),
    unavailable: report.skipped,
    report,
  };
}

/**
 * Whether two results are within the run's noise: the ranges of their timed repetitions
 * (msgs/s, or round trips/s) overlap, so another run could as well rank them the other way.
 */
export function ties(a: BenchResult, b: BenchResult): boolean {
  if (a.samples.length === 0 || b.samples.length === 0) return false;
  const lo = (s: number[]): number => Math.min(...s);
  const hi = (s: number[]): number => Math.max(...s);
  return lo(a.samples) <= hi(b.samples) && lo(b.samples) <= hi(a.samples);
}

function reason(r: BenchResult, i: number, all: BenchResult[], pattern: Pattern): string {
  const trait = TRAITS[r.backend];
  if (all.length === 1) return trait;
  const cmp = (a: BenchResult, b: BenchResult): number =>
    pattern === 'stream' ? a.msgsPerSec! / b.msgsPerSec! : b.rttP50Us! / a.rttP50Us!;
  if (i === 0) {
    const next = all[1]!;
    const x = cmp(r, next);
    const what = pattern === 'stream' ? 'the throughput of' : 'faster round trips than';
    return `${sig(x)}x ${what} ${next.backend}; ${trait}`;
  }
  const best = all[0]!;
  const x = cmp(best, r);
  return `${sig(x)}x ${pattern === 'stream' ? 'lower throughput than' : 'slower round trips than'} ${best.backend}; ${trait}`;
}

/** The best network backend against shared memory between processes on one machine, in words. */
function crossingCost(best: BenchResult, base: BenchResult | undefined, pattern: Pattern): string {
  if (base === undefined) {
    return `${best.backend}: ${numbersOf(best)} (${ONE_MACHINE_BASELINE} could not be measured here for comparison)`;
  }
  if (pattern === 'stream') {
    const x = base.msgsPerSec! / best.msgsPerSec!;
    return `${best.backend} moves ${formatCount(best.msgsPerSec!)} msgs/s, ${sig(x)}x fewer than ${ONE_MACHINE_BASELINE} (${formatCount(base.msgsPerSec!)} msgs/s) on one machine, at ${sig(best.cpuUsPerMsg! / base.cpuUsPerMsg!)}x the CPU per message`;
  }
  const x = best.rttP50Us! / base.rttP50Us!;
  return `${best.backend} round trip p50 ${sig(best.rttP50Us!)} µs, ${sig(x)}x ${ONE_MACHINE_BASELINE}'s ${sig(base.rttP50Us!)} µs on one machine`;
}

/** The numbers of a ranked result, in one short string. */
export function numbersOf(r: BenchResult): string {
  if (r.pattern === 'stream') {
    return `${formatCount(r.msgsPerSec!)} msgs/s, ${sig(r.mbPerSec!)} MB/s, ${sig(r.cpuUsPerMsg!)} CPU µs/msg`;
  }
  return `p50 ${sig(r.rttP50Us!)} µs, p99 ${sig(r.rttP99Us!)} µs, ${sig(r.cpuUsPerMsg!)} CPU µs/round trip`;
}
