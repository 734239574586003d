/** One row of benchmarks/sync.ts's tables and report: the Mutex's figure against the spin lock's. */
import { fixed } from '../lib/harness.js';

/** Timed repetitions of every measurement; tables show the median. */
export const REPS = 5;

export interface Row {
  operation: string;
  unit: string;
  shmkit: number;
  spin: number;
  samples: { shmkit: number[]; spin: number[] };
  [extra: string]: unknown;
}

/** shmkit / spin. */
export function ratio(r: Row): string {
  return `${fixed(r.shmkit / r.spin, 2)}x`;
}
