/**
 * Keeps the event loop alive while async waits are pending.
 *
 * On Node 20 a pending `Atomics.waitAsync` holds no libuv handle (nodejs/node#44729): a script
 * whose only pending work is `await mutex.lockAsync()` would simply exit. Each pending wait takes
 * a reference; while any is held, one long interval timer (no CPU cost) keeps the loop running.
 */

let refs = 0;
let timer: NodeJS.Timeout | undefined;

/** Takes a reference; returns the function that drops it (idempotent). */
export function holdEventLoop(): () => void {
  if (refs++ === 0) timer = setInterval(noop, 0x7fffffff);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--refs === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** Number of references held now (for tests and diagnostics). */
export function pendingEventLoopHolds(): number {
  return refs;
}

function noop(): void {}
