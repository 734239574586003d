/**
 * Installs shmkit as a user would, outside the workspace: every publishable package is packed
 * (`pnpm pack`, which turns workspace:* into versions and runs segment's prepack that adds the
 * prebuilt addon), the tarballs are installed with plain npm into a new project in the system's
 * temp folder (--prefer-offline: the local tarballs, and the npm cache for third-party packages,
 * which the registry fills on a first run), and the examples run there: two processes sharing a
 * channel in a segment, and worker threads sharing a mutex and a channel.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ok, publishablePackages, repoRoot, run } from '../helpers/commands.js';

const PNPM = ['-y', 'pnpm@10.34.8'];
let work: string;
let project: string;
let installLog: string;

function npm(args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return run('npm', args, { cwd: project, env: cleanEnv(o.env), timeoutMs: o.timeoutMs ?? 180_000 });
}

function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, args, { cwd: project, env: cleanEnv(env), timeoutMs: 60_000 });
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'shmkit-install-'));
  const tarballs = path.join(work, 'tarballs');
  for (const dir of publishablePackages()) {
    ok(run('npx', [...PNPM, 'pack', '--pack-destination', tarballs], { cwd: dir, timeoutMs: 120_000 }));
  }
  project = path.join(work, 'project');
  cpSync(path.join(repoRoot, 'examples'), project, { recursive: true });
  writeFileSync(
    path.join(project, 'package.json'),
    `${JSON.stringify({ name: 'shmkit-install-check', private: true, type: 'module' }, null, 2)}\n`,
  );
  const files = readdirSync(tarballs).map((f) => path.join(tarballs, f));
  installLog = ok(
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...files]),
  );
}, 300_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed packages, installed with npm outside the workspace', () => {
  it('ship no build leftovers, and every package has its README and LICENSE', () => {
    const tarballs = path.join(work, 'tarballs');
    for (const name of readdirSync(tarballs)) {
      const files = ok(run('tar', ['tzf', path.join(tarballs, name)]))
        .split('\n')
        .map((f) => f.replace(/^package\//, ''));
      expect(
        files.filter((f) => f.endsWith('.tsbuildinfo')),
        name,
      ).toEqual([]);
      expect(files, name).toContain('README.md');
      expect(files, name).toContain('LICENSE');
    }
  });

  it('use the prebuilt addon of @shmkit/segment instead of compiling', () => {
    expect(installLog).toContain('@shmkit/segment: using the prebuilt addon');
  });

  it('run two processes exchanging records through a channel in a segment', () => {
    expect(ok(node(['two-processes.mjs']))).toContain('two processes: 10000 records in order, sum 49995000');
  });

  it('run worker threads sharing a mutex and a channel', () => {
    expect(ok(node(['worker-threads.mjs']))).toContain('worker threads: 4 workers, counter 4000');
  });

  it('run the shmkit command', () => {
    const out = ok(run(path.join(project, 'node_modules', '.bin', 'shmkit'), ['doctor'], { cwd: project }));
    expect(out).toMatch(/native addon/i);
  });

  it('load the prebuilt addon when install scripts are not run at all (--ignore-scripts)', () => {
    // As with npm's allowScripts denying them, or pnpm's default: nothing compiled, nothing probed.
    const bare = path.join(work, 'no-scripts');
    cpSync(path.join(repoRoot, 'examples'), bare, { recursive: true });
    writeFileSync(
      path.join(bare, 'package.json'),
      '{ "name": "no-scripts", "private": true, "type": "module" }\n',
    );
    const tarballs = path.join(work, 'tarballs');
    const files = readdirSync(tarballs).map((f) => path.join(tarballs, f));
    // --offline: the first install filled the npm cache with every third-party package.
    ok(
      run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', ...files], {
        cwd: bare,
        env: cleanEnv(),
        timeoutMs: 180_000,
      }),
    );
    expect(existsSync(path.join(bare, 'node_modules', '@shmkit', 'segment', 'build'))).toBe(false);
    const r = run(process.execPath, ['two-processes.mjs'], { cwd: bare, env: cleanEnv(), timeoutMs: 60_000 });
    expect(ok(r)).toContain('two processes: 10000 records in order');
  }, 240_000);

  it('leave segments UNSUPPORTED after a failed build, and the fix it names works', () => {
    // As on a platform without a prebuilt addon whose compile failed (here: skipped on purpose).
    const seg = path.join(project, 'node_modules', '@shmkit', 'segment');
    rmSync(path.join(seg, 'prebuilds'), { recursive: true, force: true });
    ok(npm(['rebuild', '@shmkit/segment'], { env: { SHMKIT_SKIP_NATIVE_BUILD: '1' } }));
    const failed = node(['two-processes.mjs']);
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain('UNSUPPORTED');
    expect(failed.stderr).toContain(
      'Fix: unset SHMKIT_SKIP_NATIVE_BUILD, then run `npm rebuild @shmkit/segment`',
    );
    // The fix: compiles from the shipped sources with the node-gyp and node-addon-api it depends on.
    expect(ok(npm(['rebuild', '@shmkit/segment', '--foreground-scripts']))).toContain(
      '@shmkit/segment: built native addon',
    );
    expect(ok(node(['two-processes.mjs']))).toContain('two processes: 10000 records in order');
  }, 240_000);
});
