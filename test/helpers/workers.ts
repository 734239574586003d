/**
 * Worker-thread helpers shared by every package's tests.
 *
 * Decision (made once, here): worker fixtures are TypeScript files, started through a small
 * JavaScript bootstrap (ts-worker.mjs) that registers the tsx loader in the new thread. Fixtures
 * import the packages by name, which resolves to the built dist/ — the very code the tests on the
 * main thread import. A fixture reads its input with {@link fixtureData}. Every wait on a worker is bounded, so a deadlock fails the
 * test with a message instead of hanging CI.
 */
import { Worker, workerData } from 'node:worker_threads';

const bootstrap = new URL('./ts-worker.mjs', import.meta.url);

/** Starts `file` (a .ts fixture) as a worker thread; the fixture gets `data` from fixtureData(). */
export function startWorker(file: URL, data?: unknown): Worker {
  return new Worker(bootstrap, { workerData: { fixture: file.href, data } });
}

/** Inside a fixture: the `data` its starter passed. */
export function fixtureData<T>(): T {
  return (workerData as { data: T }).data;
}

/**
 * Runs `file` in a worker and resolves with the first message it posts. Rejects if the worker
 * throws, exits without posting, or takes longer than `timeoutMs` (then it is terminated).
 */
export function runWorker<T>(file: URL, workerData?: unknown, timeoutMs = 60_000): Promise<T> {
  const w = startWorker(file, workerData);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      finish();
      void w.terminate();
      reject(new Error(`worker ${file.pathname} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
    };
    w.once('message', (m: T) => {
      if (done) return;
      finish();
      resolve(m);
      void w.terminate();
    });
    w.once('error', (e) => {
      if (done) return;
      finish();
      reject(e);
    });
    w.once('exit', (code) => {
      if (done) return;
      finish();
      reject(new Error(`worker ${file.pathname} exited with code ${code} before reporting`));
    });
  });
}

/** Runs several workers of one fixture at once; resolves with their results in order. */
export function runWorkers<T>(file: URL, data: unknown[], timeoutMs = 60_000): Promise<T[]> {
  return Promise.all(data.map((d) => runWorker<T>(file, d, timeoutMs)));
}

/** Rejects when `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `condition()` holds, checking every 5 ms without blocking the event loop; rejects
 * naming `what` when it still does not after `ms`. For waiting on what workers report in shared
 * words.
 */
export function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  return withTimeout(
    (async () => {
      while (!condition()) await new Promise((r) => setTimeout(r, 5));
    })(),
    ms,
    what,
  );
}

/** Sleeps without spinning; for holding a lock a moment inside a worker (not for synchronization). */
export function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
