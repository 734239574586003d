/**
 * The Python bench backends (python-mp-queue, python-mp-pipe, python-shmkit) in the harness:
 * verified runs of bytes both ways, objects refused with a reason. Correctness only, never timing.
 */
import { measure, PYTHON_BACKEND_IDS } from '@shmkit/bench';
import { describe, expect, it } from 'vitest';
import { findPython } from './processes.js';

const { python, why } = findPython();
if (python === undefined) console.log(`skipping the Python bench backend tests: ${why}`);

describe.skipIf(python === undefined)('Python bench backends', () => {
  for (const pattern of ['stream', 'rtt'] as const) {
    it(`measure a verified ${pattern} of bytes between two Python processes`, async () => {
      const report = await measure({
        backends: [...PYTHON_BACKEND_IDS],
        patterns: [pattern],
        sizes: [64, 100_000],
        messages: 24,
        reps: 1,
        timeoutMs: 30_000,
      });
      expect(report.results.map((r) => `${r.backend}:${r.size}`).sort()).toEqual(
        PYTHON_BACKEND_IDS.flatMap((b) => [`${b}:100000`, `${b}:64`]).sort(),
      );
      for (const r of report.results) {
        expect(r.error).toBeUndefined();
        expect(r).toMatchObject({
          pattern,
          payload: 'bytes',
          verified: true,
          messages: 24,
          where: 'process',
        });
        if (pattern === 'rtt') expect(r.rttP99Us).toBeGreaterThanOrEqual(r.rttP50Us!);
      }
      for (const b of PYTHON_BACKEND_IDS) {
        expect(report.skipped.find((s) => s.backend === b && s.payload === 'object')?.reason).toMatch(
          /bytes/,
        );
      }
    });
  }
});
