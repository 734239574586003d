/**
 * The shared benchmark harness (benchmarks/lib): the order contenders run in, the statistics, and
 * the control block a worker reports through. Behaviour only; no timing is asserted.
 */
import { describe, expect, it } from 'vitest';
import {
  DONE,
  finish,
  GO,
  newControl,
  READY,
  reportError,
  SUM,
  signal,
  spinFor,
  throwIfFailed,
  waitFor,
} from '../../benchmarks/lib/control.js';
import { alternate, interleave, median, perRepRatios } from '../../benchmarks/lib/harness.js';
import { BenchWorker } from '../../benchmarks/lib/worker.js';
import type { RingJob } from '../../benchmarks/ring-buffer/worker.js';

describe('benchmarks/lib/harness.ts', () => {
  it('warms every contender up once, then alternates their order rep by rep', async () => {
    const calls: string[] = [];
    const out = await alternate(3, ['a', 'b', 'c'] as const, (k, warm) => {
      calls.push(warm ? `${k}*` : k);
      return calls.length;
    });
    expect(calls).toEqual(['a*', 'b*', 'c*', 'a', 'b', 'c', 'c', 'b', 'a', 'a', 'b', 'c']);
    // Results in rep order per contender, the warm-ups left out.
    expect(out).toEqual({ a: [4, 9, 10], b: [5, 8, 11], c: [6, 7, 12] });
  });

  it('rotates the order in interleave', async () => {
    const calls: string[] = [];
    const run = (k: string) => () => {
      calls.push(k);
      return 1;
    };
    await interleave(3, { a: run('a'), b: run('b'), c: run('c') });
    expect(calls).toEqual(['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
  });

  it('takes the median of odd and even counts without reordering its input', () => {
    const xs = [5, 1, 4];
    expect(median(xs)).toBe(4);
    expect(xs).toEqual([5, 1, 4]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('pairs per-rep ratios rep by rep', () => {
    expect(perRepRatios([2, 9, 4], [1, 3, 8])).toEqual([2, 3, 0.5]);
  });
});

describe('benchmarks/lib/control.ts', () => {
  it("throws the worker's error text on the main side, and nothing before it fails", () => {
    const ctl = newControl();
    expect(() => throwIfFailed(ctl)).not.toThrow();
    reportError(ctl, new Error('ring full for 30000 ms'));
    expect(() => throwIfFailed(ctl)).toThrow(/benchmark worker failed: Error: ring full for 30000 ms/);
    expect(() => waitFor(ctl, DONE, 1, 1000, 'finish')).toThrow(/ring full/);
  });

  it('bounds a wait for a worker that never answers', () => {
    const ctl = newControl();
    expect(() => waitFor(ctl, READY, 1, 20, 'get ready')).toThrow(
      'benchmark worker did not get ready in time',
    );
    expect(() => spinFor(ctl, GO, 20)).toThrow('no start signal in time');
  });

  it("runs a benchmark's worker through lib/worker.ts: READY, GO, a result in SUM, DONE", async () => {
    const { load } = await import('../../benchmarks/ring-buffer/impls.js');
    const impl = { name: 'RingBuffer', url: import.meta.resolve('@shmkit/channel') };
    const { RingBuffer, loops } = await load(impl);
    const wk = new BenchWorker(new URL('../../benchmarks/ring-buffer/worker.ts', import.meta.url));
    try {
      await wk.next(30_000); // 'ready'
      const n = 64 * 100;
      const sab = RingBuffer.getStorageForCapacity(1024, Float32Array);
      const ctl = newControl();
      const job: RingJob = { ctl, sab, impl, role: 'consume', n, chunk: 64, timeoutMs: 30_000 };
      wk.post(job);
      waitFor(ctl, READY, 1, 30_000, 'attach the ring');
      Atomics.store(ctl, GO, 1);
      loops.produce(new RingBuffer(sab, Float32Array), n, 64, performance.now() + 30_000);
      waitFor(ctl, DONE, 1, 30_000, 'finish');
      throwIfFailed(ctl);
      expect(new Float64Array(ctl.buffer)[SUM]).toBe(loops.expectedSum(n));

      // A job the worker cannot do: its error reaches the main thread through the control block.
      const bad = newControl();
      wk.post({ ...job, ctl: bad, impl: { name: 'missing', url: 'file:///nonexistent/ring.js' } });
      waitFor(bad, DONE, 1, 30_000, 'finish');
      expect(() => throwIfFailed(bad)).toThrow(/benchmark worker failed: .*nonexistent/);
    } finally {
      await wk.terminate();
    }
  });

  it('lets the helpers a worker calls drive the same words', () => {
    const ctl = newControl();
    signal(ctl, READY);
    Atomics.store(ctl, GO, 1);
    spinFor(ctl, GO, 1000);
    finish(ctl);
    expect([Atomics.load(ctl, READY), Atomics.load(ctl, DONE)]).toEqual([1, 1]);
  });
});
