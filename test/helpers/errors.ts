/**
 * Error helpers shared by every package's tests: run something, expect it to fail with a
 * ShmkitError, and return its code (undefined when it did not throw).
 */
import { ShmkitError } from '@shmkit/core';
import { expect } from 'vitest';

/** The ShmkitError code `fn` throws, or undefined if it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShmkitError);
    return (e as ShmkitError).code;
  }
  return undefined;
}

/** The ShmkitError code `p` rejects with, or undefined if it resolves. */
export async function asyncCodeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ShmkitError);
    return (e as ShmkitError).code;
  }
  return undefined;
}
