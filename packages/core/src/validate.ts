import { invalidArgument } from './errors.js';

/** Returns `v` when it is an integer in [min, max]; INVALID_ARGUMENT naming `what` otherwise. */
export function validateInteger(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    invalidArgument(`${what} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}
