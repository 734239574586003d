/**
 * Failpoints: named places in a crash window where a test can make the process die on the spot.
 *
 * When the environment variable `SHMKIT_FAILPOINT` names a point (for example
 * `channel.before-commit`), the process SIGKILLs itself the first time any of its threads reaches
 * that point. Tests and outside checks use this to hit a crash window deterministically instead of
 * hoping a random kill lands in it (docs/reliability.md lists the points).
 *
 * The variable is read once, when this module loads. When it is unset, `FAILPOINT` is `undefined`
 * and every call site is guarded as `if (FAILPOINT !== undefined) failpoint('...')`: one compare of a
 * module constant, which the JIT folds, and no call at all on the hot path.
 *
 * In a browser (no `process`) failpoints are always off.
 *
 * @example
 * ```ts fragment
 * import { FAILPOINT, failpoint } from '@shmkit/core';
 * if (FAILPOINT !== undefined) failpoint('channel.after-claim');
 * ```
 */

/** Every failpoint shmkit defines; a name outside this list in `SHMKIT_FAILPOINT` matches nothing. */
export const FAILPOINTS = [
  'channel.after-claim',
  'channel.before-commit',
  'mutex.after-lock',
  'directory.after-alloc',
] as const;

export type FailpointName = (typeof FAILPOINTS)[number];

interface ProcessLike {
  env?: Record<string, string | undefined>;
  pid?: number;
  kill?: (pid: number, signal: string) => void;
}

const proc = (globalThis as { process?: ProcessLike }).process;
const named = proc?.env?.SHMKIT_FAILPOINT;

/** The armed failpoint's name, or `undefined` (the normal case): read once at load. */
export const FAILPOINT: string | undefined = named === undefined || named === '' ? undefined : named;

/**
 * SIGKILLs the calling process when `name` is the armed failpoint; otherwise does nothing.
 * Call it only behind `if (FAILPOINT !== undefined)` so an unarmed process pays nothing.
 */
export function failpoint(name: FailpointName): void {
  if (FAILPOINT !== name || proc?.kill === undefined || proc.pid === undefined) return;
  // SIGKILL: no exit handlers, no unwinding, exactly what a crash or the OOM killer does. From a
  // worker thread this kills the whole process, as a native crash would.
  proc.kill(proc.pid, 'SIGKILL');
}
