/**
 * The calling thread's number in browsers (and any runtime without node:worker_threads), where no
 * thread id exists: a random number drawn once per thread (window, Worker, AudioWorklet).
 *
 * Random, so two threads can draw the same number: with n threads sharing a lock, the chance is
 * about n² / 2^30 (one in ten million for 10 threads). Two such threads would look like one owner to
 * a Mutex (a `lock()` by the second reports DEADLOCK instead of waiting, and it could unlock the
 * first one's lock). docs/architecture.md notes this limit of the browser build.
 */
const MASK = 0x1fffffff;

function draw(): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  // AudioWorkletGlobalScope has no `crypto`; Math.random is good enough for uniqueness there.
  const n =
    c?.getRandomValues !== undefined
      ? (c.getRandomValues(new Uint32Array(1))[0] ?? 0)
      : Math.floor(Math.random() * 0x100000000);
  // identity.ts adds 1 and masks to 29 bits: stay below MASK so the token is never 0.
  return n % MASK;
}

/** A number unique (with high probability) to this thread. */
export const threadNumber: number = draw();
