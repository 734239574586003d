/**
 * The thread packages under Bun and Deno: test/runtimes/threads-check.mjs (worker threads sharing
 * every sync primitive, Channel with each codec, RingBuffer; error codes; and @shmkit/segment's
 * refusal outside Node) runs under the `bun` and `deno` npm packages the workspace installs, and
 * under Node as the control. Each run must report every check passed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ok, repoRoot, run } from '../helpers/commands.js';

const script = path.join(repoRoot, 'test', 'runtimes', 'threads-check.mjs');
const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name);

const runtimes: { name: string; cmd: string; args: string[] }[] = [
  { name: 'Node', cmd: process.execPath, args: [script] },
  { name: 'Bun', cmd: bin('bun'), args: [script] },
  // -A: worker threads and reading node_modules need read and env permissions; nothing else is used.
  { name: 'Deno', cmd: bin('deno'), args: ['run', '-A', '--no-prompt', script] },
];

describe('the thread packages in other runtimes', () => {
  for (const rt of runtimes) {
    it(`pass every check under ${rt.name}`, () => {
      expect(
        existsSync(rt.cmd),
        `${rt.cmd}: run the workspace install (bun and deno are devDependencies)`,
      ).toBe(true);
      const out = ok(run(rt.cmd, rt.args, { timeoutMs: 120_000, env: { ...process.env, NO_COLOR: '1' } }));
      const summary = out.trim().split('\n').at(-1) ?? '';
      expect(out).not.toContain('FAIL');
      expect(summary).toMatch(new RegExp(`^${rt.name} [^:]+: \\d+ passed, 0 failed$`));
      const passed = Number(/(\d+) passed/.exec(summary)?.[1]);
      expect(passed).toBe(rt.name === 'Node' ? 7 : 8);
    }, 150_000);
  }
});
