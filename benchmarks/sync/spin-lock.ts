/**
 * The baseline of benchmarks/sync.ts: the cheapest lock one can write by hand, a spin lock on one
 * Int32Array word (`Atomics.compareExchange(w, 0, 0, 1)` until it succeeds, `Atomics.store(w, 0, 0)`
 * to release). Minimal on purpose: no test-before-CAS, no back-off, no yielding, no waiter count,
 * no owner, no timeouts. Used by the main thread and the worker alike.
 */

export function spinLock(w: Int32Array): void {
  // acquire: pairs with the store in spinUnlock.
  while (Atomics.compareExchange(w, 0, 0, 1) !== 0) {}
}

export function spinUnlock(w: Int32Array): void {
  // release: publishes the critical section to the next successful CAS.
  Atomics.store(w, 0, 0);
}

/** One try: whether the lock was free (and is now held). */
export function spinTryLock(w: Int32Array): boolean {
  // acquire on success: pairs with the store in spinUnlock.
  return Atomics.compareExchange(w, 0, 0, 1) === 0;
}

/** The spin lock's counterpart of Mutex.acquire(): a fresh disposable per acquisition, like Guard. */
export class SpinGuard implements Disposable {
  constructor(private readonly w: Int32Array) {}
  [Symbol.dispose](): void {
    spinUnlock(this.w);
  }
}

const resolved = Promise.resolve();

/**
 * The spin lock's counterpart of `await m.lockAsync()`: tryLock, and on failure `await` an
 * already-resolved promise and retry. That await only yields to other microtasks, never to the
 * event loop: while the lock is held elsewhere this burns the main thread and starves timers and
 * I/O. It is the cheapest async shape possible (a lower bound on latency), not a usable pattern.
 */
export async function spinLockAsync(w: Int32Array): Promise<void> {
  while (!spinTryLock(w)) await resolved;
}

/**
 * A variant that does yield to the event loop between tries (setImmediate), the least a server
 * could get away with. Reported as an extra row of (c) only.
 */
export async function spinLockAsyncYielding(w: Int32Array): Promise<void> {
  while (!spinTryLock(w)) await new Promise<void>((r) => setImmediate(r));
}
