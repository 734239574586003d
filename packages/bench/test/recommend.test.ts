import { describe, expect, it } from 'vitest';
import { ties } from '../src/recommend.js';
import type { BenchResult } from '../src/types.js';

function result(backend: BenchResult['backend'], samples: number[]): BenchResult {
  const median = [...samples].sort((a, b) => a - b)[samples.length >> 1]!;
  return {
    backend,
    pattern: 'stream',
    payload: 'bytes',
    size: 64,
    messages: 1000,
    msgsPerSec: median,
    mbPerSec: null,
    rttP50Us: null,
    rttP99Us: null,
    cpuUsPerMsg: null,
    verified: true,
    where: 'process',
    reps: samples.length,
    samples,
  };
}

describe('recommend ties', () => {
  it('calls two backends a tie when their repetitions overlap, and not when they are apart', () => {
    const a = result('shmkit-process-batch', [100, 120, 140]);
    expect(ties(a, result('uds-batched', [130, 150, 160]))).toBe(true);
    expect(ties(a, result('uds-batched', [141, 150, 160]))).toBe(false);
    expect(ties(a, result('uds', [10, 20, 30]))).toBe(false);
    expect(ties(a, result('uds', []))).toBe(false);
  });
});
