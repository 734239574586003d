/**
 * What every benchmark under benchmarks/ shares: interleaved repetitions, medians, the machine's
 * load, and where results go (reports/ by default; benchmarks/results/ with `--save`, for
 * results meant for publishing).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';

export const QUICK = process.argv.includes('--quick');
export const SAVE = process.argv.includes('--save');

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

export function load(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** Writes `text` to reports/`name` (or benchmarks/results/`name` with --save); returns the path. */
export function writeResult(name: string, text: string): string {
  const dir = SAVE ? path.join('benchmarks', 'results') : 'reports';
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

export const fmt = (x: number, digits = 2): string =>
  x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits);
