/**
 * Runs outside programs (npm, pnpm, node, bun, deno, chromium's driver) for the packaging, runtime
 * and doc tests: every run is bounded, and a failure reports the command and what it printed.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for messages. */
  readonly command: string;
}

/**
 * The environment without what a package manager running this test set for itself (npm_config_*,
 * npm_lifecycle_*, pnpm's store settings): a program started here must behave as it would for a
 * user typing it in a shell.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|INIT_CWD$|NODE_OPTIONS$|VITEST)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `cmd args` to completion (at most `timeoutMs`), with a clean environment by default. */
export function run(
  cmd: string,
  args: readonly string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): RunResult {
  const opts: SpawnSyncOptions = {
    cwd: o.cwd ?? repoRoot,
    env: o.env ?? cleanEnv(),
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 60_000,
    maxBuffer: 64 << 20,
    killSignal: 'SIGKILL',
  };
  if (o.input !== undefined) opts.input = o.input;
  const r = spawnSync(cmd, args, opts);
  return {
    status: r.status,
    stdout: String(r.stdout ?? ''),
    stderr: `${String(r.stderr ?? '')}${r.error !== undefined ? `\n${r.error.message}` : ''}`,
    command: [cmd, ...args].join(' '),
  };
}

/** Throws with the command's output unless it exited with status 0; returns its stdout. */
export function ok(r: RunResult): string {
  if (r.status !== 0) {
    throw new Error(
      `\`${r.command}\` exited with ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r.stdout;
}

/** The publishable packages of the workspace: folders of packages/* whose package.json is not private. */
export function publishablePackages(): string[] {
  const dir = path.join(repoRoot, 'packages');
  return readdirSync(dir)
    .sort()
    .map((d) => path.join(dir, d))
    .filter((d) => {
      const f = path.join(d, 'package.json');
      return existsSync(f) && (JSON.parse(readFileSync(f, 'utf8')) as { private?: boolean }).private !== true;
    });
}
