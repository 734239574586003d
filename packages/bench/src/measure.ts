/**
 * `measure(options)`: runs every (pattern, payload, size) case through every backend and returns a
 * `shmkit-bench/1` report.
 *
 * Method (docs/architecture.md, "Benchmarks"):
 * - One peer per backend for the whole measurement, started before anything is timed.
 * - Per case and backend, two warm-up runs outside the timed part; they also calibrate the message
 *   count so that each timed rep lasts about `targetMs` (bounded by count and bytes).
 * - Timed reps interleave the backends, alternating the order every rep (A B C, C B A, ...), so
 *   that a slow phase of the machine hits every backend alike. Numbers are medians over reps;
 *   latency percentiles come from one HDR histogram of every timed round trip.
 * - Every run verifies count, order and checksum (payload.ts); a failed run marks the result
 *   `verified: false` with the reason, and the backend is restarted for the next case.
 */
import { msgpackCodec } from '@shmkit/channel';
import { ShmkitError } from '@shmkit/core';
import type { Histogram } from 'hdr-histogram-js';
import { getBackend } from './backends.js';
import { machineInfo } from './machine.js';
import { builtinObject, fingerprint, loadPayloadFile, MAX_SIZE, MIN_SIZE, makePool } from './payload.js';
import { type Backend, newHistogram, type RunOutcome, type RunSpec, type Session } from './session.js';
import {
  ALL_BACKEND_IDS,
  BACKEND_IDS,
  type BackendId,
  type BenchReport,
  type BenchResult,
  PATTERNS,
  PAYLOAD_KINDS,
  type Pattern,
  type PayloadKind,
  type ProgressEvent,
  PYTHON_BACKEND_IDS,
  type Skipped,
} from './types.js';
import { fidelityProblem } from './wire.js';

export interface MeasureOptions {
  /** Backend ids (default: all). */
  backends?: readonly BackendId[];
  /** Default: both. */
  patterns?: readonly Pattern[];
  /** Default: both. */
  payloads?: readonly PayloadKind[];
  /** Bytes payload sizes (default: 64 B .. 1 MiB, x4 steps; --quick: 64 B, 4 KiB, 64 KiB, 1 MiB). */
  sizes?: readonly number[];
  /** A module exporting a function that returns the object payload (default: a built-in order event). */
  payloadFile?: string;
  /** The short preset: fewer sizes, 3 reps of ~50 ms. */
  quick?: boolean;
  /** Timed reps per case and backend (default 5, quick 3). */
  reps?: number;
  /** Target duration of one timed rep in ms (default 250, quick 50). */
  targetMs?: number;
  /** Fixed message count per run: no calibration (for tests). */
  messages?: number;
  /** Bound of every wait of a run (default 60 s). */
  timeoutMs?: number;
  onProgress?: (e: ProgressEvent) => void;
}

export const FULL_SIZES = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576] as const;
export const QUICK_SIZES = [64, 4096, 65536, 1048576] as const;

/** Message-count bounds of a calibrated run. */
const MIN_MESSAGES = 4;
const MAX_STREAM_MESSAGES = 2_000_000;
const MAX_RTT = 200_000;
/** Bytes one stream run may put in flight (unbounded queues: postMessage, child IPC). */
const MAX_RUN_BYTES = 256 << 20;

interface Case {
  pattern: Pattern;
  payload: PayloadKind;
  size: number;
  label: string;
}

interface Tally {
  backend: Backend;
  samples: number[];
  cpu: number[];
  messages: number;
  histogram: Histogram | undefined;
  failure: string | undefined;
  n: number;
}

/** Human size: 64 B, 4 KiB, 1 MiB. */
export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function validate(o: MeasureOptions): void {
  const bad = (what: string): never => {
    throw new ShmkitError('INVALID_ARGUMENT', what);
  };
  for (const b of o.backends ?? [])
    if (!ALL_BACKEND_IDS.includes(b)) bad(`unknown backend ${JSON.stringify(b)}`);
  for (const p of o.patterns ?? []) if (!PATTERNS.includes(p)) bad(`unknown pattern ${JSON.stringify(p)}`);
  for (const k of o.payloads ?? [])
    if (!PAYLOAD_KINDS.includes(k)) bad(`unknown payload ${JSON.stringify(k)}`);
  for (const s of o.sizes ?? []) {
    if (!Number.isInteger(s) || s < MIN_SIZE || s > MAX_SIZE) {
      bad(`size ${s} is outside ${MIN_SIZE} .. ${MAX_SIZE} bytes`);
    }
  }
  for (const [k, v] of [
    ['reps', o.reps],
    ['targetMs', o.targetMs],
    ['messages', o.messages],
    ['timeoutMs', o.timeoutMs],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) bad(`${k} must be a positive integer`);
  }
}

/**
 * Measures the backends on this machine. Never throws for a failing backend: its results carry
 * `verified: false` and `error`. Throws for bad options and an unusable payload file.
 *
 * @example
 * ```ts
 * const report = await measure({ quick: true, backends: ['postmessage', 'shmkit-thread'] });
 * console.log(report.results.map((r) => [r.backend, r.pattern, r.size, r.msgsPerSec]));
 * ```
 */
export async function measure(o: MeasureOptions = {}): Promise<BenchReport> {
  validate(o);
  const t0 = performance.now();
  const quick = o.quick ?? false;
  const ids = [
    ...new Set(
      o.backends ?? [
        ...BACKEND_IDS,
        'shmkit-thread-async',
        'shmkit-thread-struct',
        'uds-batched',
        'shmkit-thread-batch',
        'shmkit-process-batch',
        ...PYTHON_BACKEND_IDS,
        'nats',
      ],
    ),
  ] as BackendId[];
  const patterns = [...new Set(o.patterns ?? PATTERNS)];
  const payloads = [...new Set(o.payloads ?? PAYLOAD_KINDS)];
  const sizes = [...new Set(o.sizes ?? (quick ? QUICK_SIZES : FULL_SIZES))].sort((a, b) => a - b);
  const reps = o.reps ?? (quick ? 3 : 5);
  const targetMs = o.targetMs ?? (quick ? 50 : 250);
  const timeoutMs = o.timeoutMs ?? 60_000;
  const progress = o.onProgress ?? (() => {});

  // The object payload: made once, here; peers get the same pool.
  const make = o.payloadFile !== undefined ? await loadPayloadFile(o.payloadFile) : builtinObject;
  const pool = payloads.includes('object') ? makePool(make) : [];
  const packr = msgpackCodec<unknown>();
  const objectSizes = pool.map((body, i) => packr.encode({ seq: i, body }).length);
  const objectSize = objectSizes.length > 0 ? objectSizes[0]! : 0;
  const objectMax = objectSizes.length > 0 ? Math.max(...objectSizes) + 16 : 0;

  const cases: Case[] = [];
  for (const pattern of patterns) {
    for (const payload of payloads) {
      if (payload === 'bytes') {
        for (const size of sizes)
          cases.push({ pattern, payload, size, label: `${pattern} ${formatSize(size)}` });
      } else cases.push({ pattern, payload, size: objectSize, label: `${pattern} object (${objectSize} B)` });
    }
  }

  const skipped: Skipped[] = [];
  const backends: Backend[] = [];
  for (const id of ids) {
    const b = getBackend(id);
    const why = await b.unavailable();
    if (why !== undefined) skipped.push({ backend: id, reason: why });
    else backends.push(b);
  }
  const objectProblems = new Map<BackendId, string>();
  if (pool.length > 0) {
    for (const b of backends) {
      const why = fidelityProblem(b.id, pool, fingerprint);
      if (why !== undefined) {
        objectProblems.set(b.id, why);
        for (const pattern of patterns)
          skipped.push({ backend: b.id, reason: why, pattern, payload: 'object' });
      }
    }
  }

  const perCase = (c: Case): Backend[] =>
    backends.filter(
      (b) =>
        c.payload === 'object'
          ? !objectProblems.has(b.id)
          : b.id !== 'shmkit-thread-struct' /* objects only */,
    );
  const total = cases.reduce((s, c) => s + perCase(c).length * (reps + 2), 0);
  progress({ type: 'start', total, cases: cases.length });
  // The machine as found before the peers add their own load: its load average is the one that
  // says whether other programs competed with the benchmark.
  const machine = machineInfo();
  const warnings: string[] = [];
  const load = machine.loadAverage[0] ?? 0;
  if (load > machine.cores / 2) {
    const message = `the machine is busy (load average ${load.toFixed(2)} on ${machine.cores} cores): numbers will be noisy, latency most of all`;
    warnings.push(message);
    progress({ type: 'warn', message });
  }
  let done = 0;
  const step = (label: string): void => {
    done++;
    progress({ type: 'step', done, total, label });
  };

  const sessions = new Map<BackendId, Session>();
  const sessionFor = async (b: Backend): Promise<Session> => {
    let s = sessions.get(b.id);
    if (s !== undefined && !s.usable) {
      sessions.delete(b.id);
      await s.close().catch(() => {});
      s = undefined;
    }
    if (s === undefined) {
      s = await b.open();
      sessions.set(b.id, s);
    }
    return s;
  };

  const results: BenchResult[] = [];
  try {
    for (const [ci, c] of cases.entries()) {
      const caseStart = performance.now();
      const active = perCase(c);
      const base = {
        pattern: c.pattern,
        kind: c.payload,
        size: c.size,
        pool,
        timeoutMs,
        maxEncoded: c.payload === 'object' ? objectMax : c.size,
      };
      const tallies: Tally[] = active.map((backend) => ({
        backend,
        samples: [],
        cpu: [],
        messages: 0,
        histogram: c.pattern === 'rtt' ? newHistogram() : undefined,
        failure: undefined,
        n: 0,
      }));
      const runOne = async (t: Tally, n: number): Promise<RunOutcome | undefined> => {
        if (t.failure !== undefined) return undefined;
        try {
          const s = await sessionFor(t.backend);
          const out = await s.run({ ...base, n } satisfies RunSpec);
          if (!out.verified) t.failure = `not verified: ${out.why ?? 'unknown'}`;
          return out;
        } catch (e) {
          t.failure = (e as Error).message ?? String(e);
          const s = sessions.get(t.backend.id);
          if (s !== undefined && !s.usable) {
            sessions.delete(t.backend.id);
            await s.close().catch(() => {});
          }
          return undefined;
        }
      };

      // Warm-up and calibration, outside the timed part.
      for (const t of tallies) {
        const label = `${c.label} · ${t.backend.id} (warm-up)`;
        if (o.messages !== undefined) {
          t.n = o.messages;
          await runOne(t, t.n);
          step(label);
          step(label);
          continue;
        }
        let n = initialCount(c);
        for (let round = 0; round < 2; round++) {
          const out = await runOne(t, n);
          step(label);
          if (out === undefined) {
            if (round === 0) step(label); // the second warm-up will not run
            break;
          }
          const perMsgMs = Math.max(out.elapsedMs, 0.01) / out.n;
          n = boundCount(c, Math.round((round === 0 ? targetMs / 2 : targetMs) / perMsgMs));
        }
        t.n = n;
      }

      // Timed reps, interleaved.
      for (let r = 0; r < reps; r++) {
        const order = r % 2 === 0 ? tallies : [...tallies].reverse();
        for (const t of order) {
          const out = await runOne(t, t.n);
          step(`${c.label} · ${t.backend.id} (rep ${r + 1}/${reps})`);
          if (out === undefined || !out.verified) continue;
          t.samples.push((out.n * 1000) / out.elapsedMs);
          t.cpu.push(out.cpuUs / out.n);
          t.messages += out.n;
          if (t.histogram !== undefined && out.histogram !== undefined) t.histogram.add(out.histogram);
        }
      }

      for (const t of tallies) results.push(toResult(c, t, reps));
      progress({
        type: 'case',
        index: ci + 1,
        cases: cases.length,
        label: c.label,
        seconds: (performance.now() - caseStart) / 1000,
      });
    }
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.close().catch(() => {})));
  }

  return {
    schema: 'shmkit-bench/1',
    date: new Date().toISOString(),
    machine,
    options: {
      quick,
      backends: ids,
      patterns,
      payloads,
      sizes,
      reps,
      targetMs,
      messages: o.messages ?? null,
      payloadFile: o.payloadFile ?? null,
      objectName: o.payloadFile !== undefined ? 'user payload' : 'built-in order event',
    },
    results,
    skipped,
    warnings,
    seconds: (performance.now() - t0) / 1000,
  };
}

function initialCount(c: Case): number {
  const byBytes = Math.floor((c.pattern === 'stream' ? 2 << 20 : 256 << 10) / Math.max(c.size, 1));
  return boundCount(c, Math.min(c.pattern === 'stream' ? 2000 : 200, byBytes));
}

function boundCount(c: Case, n: number): number {
  const max =
    c.pattern === 'stream'
      ? Math.min(MAX_STREAM_MESSAGES, Math.floor(MAX_RUN_BYTES / Math.max(c.size, 1)))
      : MAX_RTT;
  return Math.max(MIN_MESSAGES, Math.min(max, Number.isFinite(n) ? n : max));
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const us = (h: Histogram, p: number): number => h.getValueAtPercentile(p) / 1000;

function toResult(c: Case, t: Tally, reps: number): BenchResult {
  const ok = t.failure === undefined && t.samples.length === reps;
  const msgsPerSec = ok ? median(t.samples) : null;
  const h = ok && t.histogram !== undefined && t.histogram.totalCount > 0 ? t.histogram : undefined;
  const r: BenchResult = {
    backend: t.backend.id,
    pattern: c.pattern,
    payload: c.payload,
    size: c.size,
    messages: t.messages,
    msgsPerSec,
    mbPerSec: c.pattern === 'stream' && msgsPerSec !== null ? (msgsPerSec * c.size) / 1e6 : null,
    rttP50Us: h ? us(h, 50) : null,
    rttP99Us: h ? us(h, 99) : null,
    cpuUsPerMsg: ok ? median(t.cpu) : null,
    verified: ok,
    where: t.backend.where,
    reps: t.samples.length,
    samples: t.samples,
  };
  if (c.pattern === 'rtt') {
    r.rttMeanUs = h ? h.mean / 1000 : null;
    r.rttP90Us = h ? us(h, 90) : null;
    r.rttP999Us = h ? us(h, 99.9) : null;
    r.rttMaxUs = h ? h.maxValue / 1000 : null;
  }
  if (t.failure !== undefined) r.error = t.failure;
  t.histogram?.destroy();
  return r;
}
