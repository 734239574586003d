import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The installed entry of the `shmkit` command (what pnpm links into node_modules/.bin). */
export const SHMKIT = fileURLToPath(new URL('../bin/shmkit.mjs', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `shmkit ...args` to completion (bounded), without colors. */
export function shmkit(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SHMKIT, ...args],
      { timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        if (error?.killed) reject(new Error(`shmkit ${args.join(' ')} timed out\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A stack trace line, which the CLI must never print for a user error. */
export const STACK_LINE = /^\s+at .+[(:]\d+/m;
