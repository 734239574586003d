import { ALL_BACKEND_IDS, type BenchReport, measure } from '@shmkit/bench';
import { describe, expect, it } from 'vitest';

// Small fixed runs: correctness only (count, order, checksum), never timing. 100 000 bytes is more
// than one socket read, so frames are reassembled across chunks.
const SIZES = [64, 100_000];
const MESSAGES = 24;

async function run(
  backend: (typeof ALL_BACKEND_IDS)[number],
  pattern: 'stream' | 'rtt',
): Promise<BenchReport> {
  return measure({
    backends: [backend],
    patterns: [pattern],
    sizes: SIZES,
    messages: MESSAGES,
    reps: 1,
    timeoutMs: 20_000,
  });
}

function expectVerified(report: BenchReport, pattern: 'stream' | 'rtt', objectsOnly = false): void {
  // bytes at both sizes, and the built-in object (shmkit-thread-struct carries objects only)
  expect(report.results.map((r) => `${r.payload}:${r.size > 1000 ? 'large' : 'small'}`).sort()).toEqual(
    objectsOnly ? ['object:small'] : ['bytes:large', 'bytes:small', 'object:small'],
  );
  for (const r of report.results) {
    expect({ ...r, samples: undefined }).toMatchObject({ pattern, verified: true, messages: MESSAGES });
    expect(r.error).toBeUndefined();
  }
}

describe.each(ALL_BACKEND_IDS.filter((id) => !id.startsWith('python-')))('backend %s', (backend) => {
  it('delivers a verified one-way stream of bytes and objects', async (ctx) => {
    const report = await run(backend, 'stream');
    const skipped = report.skipped.find((s) => s.backend === backend && s.payload === undefined);
    if (skipped !== undefined) {
      // Only a backend that cannot run here may be skipped, and it must say why.
      expect(backend).toBe('shmkit-process');
      expect(skipped.reason.length).toBeGreaterThan(10);
      ctx.skip();
    }
    expectVerified(report, 'stream', backend === 'shmkit-thread-struct');
  });

  it('delivers verified round trips of bytes and objects', async (ctx) => {
    const report = await run(backend, 'rtt');
    if (report.skipped.some((s) => s.backend === backend && s.payload === undefined)) ctx.skip();
    expectVerified(report, 'rtt', backend === 'shmkit-thread-struct');
    for (const r of report.results) {
      expect(r.rttP50Us).toBeGreaterThan(0);
      expect(r.rttP99Us).toBeGreaterThanOrEqual(r.rttP50Us!);
    }
  });
});

describe('user payloads', () => {
  it('skips child-ipc-json for a payload JSON cannot carry, and delivers it intact everywhere else', async () => {
    const report = await measure({
      backends: ['child-ipc-json', 'child-ipc-advanced', 'postmessage', 'uds', 'shmkit-thread'],
      patterns: ['stream'],
      payloads: ['object'],
      payloadFile: new URL('./fixtures/payload-rich.mjs', import.meta.url).pathname,
      messages: MESSAGES,
      reps: 1,
      timeoutMs: 20_000,
    });
    expect(report.skipped).toEqual([
      expect.objectContaining({
        backend: 'child-ipc-json',
        payload: 'object',
        reason: expect.stringMatching(/JSON/),
      }),
    ]);
    expect(report.results.map((r) => r.backend).sort()).toEqual([
      'child-ipc-advanced',
      'postmessage',
      'shmkit-thread',
      'uds',
    ]);
    for (const r of report.results) expect(r.verified).toBe(true);
  });

  it('rejects bad options before starting anything', async () => {
    await expect(measure({ sizes: [4] })).rejects.toThrow(/outside/);
    await expect(measure({ backends: ['carrier-pigeon' as never] })).rejects.toThrow(/unknown backend/);
    await expect(measure({ payloadFile: '/nonexistent/payload.mjs' })).rejects.toThrow(/not found/);
  });
});
