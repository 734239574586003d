/**
 * The calling thread's number under Node (and Bun and Deno, which provide node:worker_threads):
 * worker_threads' `threadId` (0 for the main thread), unique within the process for its lifetime.
 *
 * package.json maps `#thread-token` here for the `node` condition; browsers and other runtimes get
 * thread-token.web.ts, so the browser build of @shmkit/core imports nothing from `node:`.
 */
import { threadId } from 'node:worker_threads';

/** A number unique to this thread among the threads that can share a heap SharedArrayBuffer. */
export const threadNumber: number = threadId;
