/**
 * What every benchmark under benchmarks/ shares: interleaved repetitions, medians and ratios, the
 * machine's load, formatting, and where results go (reports/ by default; benchmarks/results/ with
 * `--save`, for results meant for publishing).
 *
 * The method (docs/architecture.md, "Benchmarks"): the machine is shared and noisy, so every
 * contender of a comparison runs in the same process, rep by rep, in an order that changes from
 * rep to rep; a figure is the median of the reps, and a ratio is against a baseline of the same
 * run, printed with the range of the per-rep ratios.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os, { loadavg } from 'node:os';
import path from 'node:path';

export const QUICK = process.argv.includes('--quick');
export const SAVE = process.argv.includes('--save');

/** The value of `--name=value` on the command line, or undefined. */
export function argValue(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs every variant once per repetition, rotating the order each time, so that a drift in the
 * machine's load hits all variants alike. Returns each variant's results in repetition order.
 */
export async function interleave<K extends string>(
  reps: number,
  variants: Record<K, () => Promise<number> | number>,
): Promise<Record<K, number[]>> {
  const keys = Object.keys(variants) as K[];
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[(i + r) % keys.length]!;
      out[k].push(await variants[k]());
    }
  }
  return out;
}

/**
 * Runs every variant once untimed (`warm` true: a warm-up that lets V8 optimize every loop), then
 * `reps` timed reps in alternating order (A B C, C B A, ...). Returns each variant's timed results
 * in rep order, so that results[a][r] and results[b][r] ran back to back.
 */
export async function alternate<K extends string, R>(
  reps: number,
  names: readonly K[],
  run: (k: K, warm: boolean) => R | Promise<R>,
): Promise<Record<K, R[]>> {
  const out = {} as Record<K, R[]>;
  for (const k of names) {
    out[k] = [];
    await run(k, true);
  }
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const k of order) out[k].push(await run(k, false));
  }
  return out;
}

/** Per-rep ratios a[r] / b[r] (both from the same rep, so the spread shows the noise). */
export function perRepRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

export function load(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** The load averages, rounded to two decimals (for reports). */
export function loadAverage(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/** The machine, for a report and its first lines. */
export function machine(): {
  cpu: string;
  cores: number;
  node: string;
  kernel: string;
  arch: string;
  memoryGiB: number;
} {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** Fraction of the machine's CPU time that other processes used during `ms` (this one idle). */
export async function busyElsewhere(ms: number): Promise<number> {
  const sample = (): { idle: number; total: number } => {
    let idle = 0;
    let total = 0;
    for (const c of os.cpus()) {
      idle += c.times.idle;
      total += c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    }
    return { idle, total };
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

/** Writes `text` to reports/`name` (or benchmarks/results/`name` with --save); returns the path. */
export function writeResult(name: string, text: string): string {
  const dir = SAVE ? path.join('benchmarks', 'results') : 'reports';
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Writes `report` as JSON (see writeResult); returns the path. */
export function writeJson(name: string, report: unknown): string {
  return writeResult(name, `${JSON.stringify(report, null, 2)}\n`);
}

/** Whole numbers from 100 up, `digits` decimals below. */
export const fmt = (x: number, digits = 2): string =>
  x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits);

/** Exactly `digits` decimals, with thousands separators. */
export const fixed = (x: number, digits = 1): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
