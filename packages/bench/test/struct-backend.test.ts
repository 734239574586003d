import { measure } from '@shmkit/bench';
import { describe, expect, it } from 'vitest';

describe('backend shmkit-thread-struct', () => {
  it('skips a user payload that does not fit its struct layout, saying why', async () => {
    const report = await measure({
      backends: ['shmkit-thread-struct', 'shmkit-thread'],
      patterns: ['stream'],
      payloads: ['object'],
      payloadFile: new URL('./fixtures/payload-plain.mjs', import.meta.url).pathname,
      messages: 16,
      reps: 1,
      timeoutMs: 20_000,
    });
    expect(report.skipped).toEqual([
      expect.objectContaining({
        backend: 'shmkit-thread-struct',
        payload: 'object',
        reason: expect.stringMatching(/built-in object/),
      }),
    ]);
    expect(report.results.map((r) => r.backend)).toEqual(['shmkit-thread']);
  });
});
