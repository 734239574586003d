// `#thread-token` is node:worker_threads' threadId under Node and a per-thread random number in
// browsers (package.json `imports`): the browser build imports nothing from `node:`.
import { threadNumber } from '#thread-token';

/**
 * Who holds a lock: a small positive integer ("token") stamped into the lock word itself, so that
 * acquiring and recording the owner are one atomic step (as in Linux robust futexes: a holder that
 * dies between the two would otherwise leave a lock nobody can attribute).
 *
 * Tokens fit in {@link TOKEN_MASK} (29 bits); the bits above are flags of the lock words.
 */
export interface Identity {
  /** The calling thread's token, 1..TOKEN_MASK. */
  self(): number;
  /**
   * Whether the thread behind `token` may still be running. The heap identity cannot observe
   * thread death and always says true; the process-shared identity of @shmkit/segment checks
   * pid + start time.
   */
  isAlive(token: number): boolean;
  /** How long a blocked wait sleeps before re-checking liveness; Infinity when it never needs to. */
  readonly livenessSliceMs: number;
}

/** Tokens are the low 29 bits of a lock word. */
export const TOKEN_MASK = 0x1fffffff;

/**
 * Threads of one process sharing a heap SharedArrayBuffer: token = worker threadId + 1 (Node), or a
 * random per-thread number + 1 (browsers: see thread-token.web.ts).
 */
export const heapIdentity: Identity = {
  self: () => (threadNumber + 1) & TOKEN_MASK,
  isAlive: () => true,
  livenessSliceMs: Number.POSITIVE_INFINITY,
};
