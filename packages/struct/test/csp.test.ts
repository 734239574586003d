import { describe, expect, it } from 'vitest';
import { spawnFixture } from '../../../test/helpers/children.js';

const fixtures = new URL('./fixtures/', import.meta.url);

describe('struct where code generation is forbidden (CSP without unsafe-eval)', () => {
  it('falls back to closures and behaves the same; codegen "function" is UNSUPPORTED', async () => {
    const c = spawnFixture(fixtures, 'no-eval.mjs', [], {
      nodeArgs: ['--disallow-code-generation-from-strings'],
    });
    const r = await c.exited(30_000);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      evalAllowed: false,
      evalError: true,
      codegen: 'closures',
      view: { id: 7, price: 2.5, name: 'ok', xs: [0, -3, 0] },
      recv: { id: 1, price: 1.5, name: 'abc', xs: [1, 2, 3] },
      refused: 'INVALID_ARGUMENT',
      forced: 'UNSUPPORTED',
    });
  });
});
