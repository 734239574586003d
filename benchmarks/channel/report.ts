/**
 * The tables and targets of benchmarks/channel.ts: throughput rows from the timed runs, ratios of
 * medians with the range of the per-rep ratios, and whether each target was met.
 */
import { fixed, median } from '../lib/harness.js';
import type { Run } from './rounds.js';

export interface Throughput {
  backend: string;
  /** Median messages per second. */
  perSec: number;
  /** Median payload MB/s (10^6 bytes). */
  mbPerSec: number;
  /** Median process CPU µs per message, both threads together. */
  cpuUsPerMsg: number;
  /** Every timed run. */
  runs: Run[];
}

export function throughput(backend: string, runs: Run[], bytesPerMsg: number): Throughput {
  const perSec = median(runs.map((r) => (r.n * 1000) / r.ms));
  return {
    backend,
    perSec,
    mbPerSec: (perSec * bytesPerMsg) / 1e6,
    cpuUsPerMsg: median(runs.map((r) => (r.cpuMs * 1000) / r.n)),
    runs,
  };
}

/** Per-rep ratios of two throughputs (rate of a / rate of b). */
export function rateRatios(a: Throughput, b: Throughput): number[] {
  return a.runs.map((r, i) => {
    const o = b.runs[i]!;
    return (r.n / r.ms) * (o.ms / o.n);
  });
}

export interface Target {
  scenario: string;
  ratio: string;
  /** The ratio of the medians. */
  value: number;
  /** The same ratio within each rep (A and B of rep r ran back to back): the spread shows the noise. */
  perRep: number[];
  /** 'min': value >= target; 'max': value <= target. */
  kind: 'min' | 'max';
  target: number;
  met: boolean;
}

/** Every target of this run, in order. */
export const targets: Target[] = [];

export function target(
  scenario: string,
  ratio: string,
  value: number,
  perRep: number[],
  kind: 'min' | 'max',
  goal: number,
): Target {
  const met = kind === 'min' ? value >= goal : value <= goal;
  const t = { scenario, ratio, value, perRep, kind, target: goal, met };
  targets.push(t);
  return t;
}

/** A throughput target: a's rate / b's rate, at least `goal`. */
export function rateTarget(
  scenario: string,
  ratio: string,
  a: Throughput,
  b: Throughput,
  goal: number,
): Target {
  return target(scenario, ratio, a.perSec / b.perSec, rateRatios(a, b), 'min', goal);
}

export const bound = (t: Target): string => `${t.kind === 'min' ? '>=' : '<='} ${fixed(t.target, 2)}x`;

export function printTargets(ts: Target[]): void {
  console.table(
    ts.map((t) => ({
      ratio: t.ratio,
      value: `${fixed(t.value, 2)}x`,
      'reps min..max': `${fixed(Math.min(...t.perRep), 2)}..${fixed(Math.max(...t.perRep), 2)}x`,
      target: bound(t),
      met: t.met ? 'yes' : 'NO',
    })),
  );
}

export function printThroughput(rows: readonly Throughput[], unit: string, mbUnit: 'MB/s' | 'GB/s'): void {
  const scale = mbUnit === 'GB/s' ? 1000 : 1;
  console.table(
    rows.map((r) => ({
      backend: r.backend,
      [`${unit}/s`]: fixed(r.perSec, 0),
      [mbUnit]: fixed(r.mbPerSec / scale, mbUnit === 'GB/s' ? 2 : 1),
      'CPU µs/msg': fixed(r.cpuUsPerMsg, 3),
    })),
  );
}
