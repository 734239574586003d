/**
 * Bounding a promise by a Deadline and an AbortSignal, the way every async shmkit method bounds
 * its waits: TIMEOUT when the deadline passes, ABORTED when the signal fires. The promise itself
 * keeps running (a NATS request cannot be called back); its result is ignored.
 */
import { abortedError, type Deadline, timeoutError } from '@shmkit/core';

export function bounded<T>(
  p: Promise<T>,
  deadline: Deadline,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  const left = deadline.remaining();
  if (left === Number.POSITIVE_INFINITY && signal === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      cleanup();
      reject(abortedError(signal!));
    };
    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (left !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(() => {
        cleanup();
        reject(timeoutError(what, deadline.timeout));
      }, left);
    }
    if (signal !== undefined) {
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    }
    p.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}

/** Resolves after `ms`, or at once when the deadline is nearer; rejects like {@link bounded}. */
export function pause(
  ms: number,
  deadline: Deadline,
  signal: AbortSignal | undefined,
  what: string,
): Promise<void> {
  const left = deadline.remaining();
  if (left === 0) return Promise.reject(timeoutError(what, deadline.timeout));
  return bounded(new Promise<void>((r) => setTimeout(r, Math.min(ms, left))), deadline, signal, what);
}
