/**
 * A benchmark's worker thread: a TypeScript module of benchmarks/ started through ts-worker.mjs
 * (on Node 20 a tsx loader does not reach a worker's entry module by itself), with bounded waits
 * on its messages. The module posts one message when it is ready for jobs.
 */
import { type TransferListItem, Worker } from 'node:worker_threads';

const BOOTSTRAP = new URL('./ts-worker.mjs', import.meta.url);

export class BenchWorker {
  readonly w: Worker;
  /** What made the worker fail (its 'error' event), if anything did. */
  failure: Error | undefined;

  /** Starts `module` (a URL of a .ts file) with `data` as its workerData (plus `fixture`). */
  constructor(module: URL, data: Record<string, unknown> = {}) {
    this.w = new Worker(BOOTSTRAP, { workerData: { ...data, fixture: module.href } });
    this.w.on('error', (e) => {
      this.failure = e;
    });
  }

  post(msg: unknown, transfer?: readonly TransferListItem[]): void {
    if (this.failure) throw this.failure;
    this.w.postMessage(msg, transfer);
  }

  /**
   * Passes the worker's messages to `onMessage` until it returns true. Rejects when `onMessage`
   * throws, the worker fails or exits, or after `timeoutMs` (with `what()` in the message).
   */
  listen(onMessage: (m: unknown) => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void => {
        cleanup();
        reject(e);
      };
      const onData = (m: unknown): void => {
        let done: boolean;
        try {
          done = onMessage(m);
        } catch (e) {
          fail(e as Error);
          return;
        }
        if (done) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number): void => fail(new Error(`benchmark worker exited with code ${code}`));
      const timer = setTimeout(() => fail(new Error(`${what()} after ${timeoutMs} ms`)), timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.w.off('message', onData);
        this.w.off('error', fail);
        this.w.off('exit', onExit);
      };
      this.w.on('message', onData);
      this.w.on('error', fail);
      this.w.on('exit', onExit);
    });
  }

  /** The worker's next message, bounded. */
  async next<T>(timeoutMs: number): Promise<T> {
    let got: T | undefined;
    await this.listen(
      (m) => {
        got = m as T;
        return true;
      },
      timeoutMs,
      () => 'benchmark worker: no answer',
    );
    return got as T;
  }

  terminate(): Promise<number> {
    return this.w.terminate();
  }
}
