/**
 * Python and Node child processes for the cross-language tests: output read line by line, every
 * wait bounded, and everything a test leaves running killed afterwards.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { bounded } from '../helpers/children.js';

const fixtures = new URL('./fixtures/', import.meta.url);
const children = new Set<ChildProcess>();

/** The python3 on PATH (>= 3.10), or undefined with the reason. */
export function findPython(): { python?: string; why?: string } {
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.version_info >= (3, 10))'], {
    encoding: 'utf8',
  });
  if (r.error !== undefined || r.status !== 0)
    return { why: 'python3 not found: install it (apt-get install python3)' };
  if (r.stdout.trim() !== 'True') return { why: 'python3 is older than 3.10: install python3 >= 3.10' };
  return { python: 'python3' };
}

export interface Peer {
  readonly proc: ChildProcess;
  line(timeoutMs?: number): Promise<string>;
  exited(
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

/** Runs fixtures/peer.py (lang 'py') or fixtures/peer.mjs (lang 'node') with `args`. */
export function peer(lang: 'py' | 'node', args: readonly (string | number)[]): Peer {
  const script = new URL(lang === 'py' ? 'peer.py' : 'peer.mjs', fixtures).pathname;
  const cmd = lang === 'py' ? 'python3' : process.execPath;
  const proc = spawn(cmd, [script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let stdout = '';
  let stderr = '';
  let buffered = '';
  let closed = false;
  const lines: string[] = [];
  let waiting: (() => void) | undefined;
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
    waiting?.();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exit = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      proc.on('close', (code, signal) => {
        children.delete(proc);
        closed = true;
        resolve({ code, signal, stdout, stderr });
        waiting?.();
      });
    },
  );
  const what = `${lang} ${args.join(' ')}`;
  return {
    proc,
    line(timeoutMs = 30_000) {
      return bounded(
        new Promise<string>((resolve, reject) => {
          const check = (): void => {
            if (lines.length > 0) {
              waiting = undefined;
              resolve(lines.shift()!);
            } else if (closed) {
              waiting = undefined;
              reject(new Error(`${what} exited before printing; stderr:\n${stderr}`));
            }
          };
          waiting = check;
          check();
        }),
        timeoutMs,
        `a line from ${what}`,
      );
    },
    exited(timeoutMs = 30_000) {
      return bounded(exit, timeoutMs, `exit of ${what}`);
    },
  };
}

/** For afterEach: kills the children a failed test left running. */
export function killPeers(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}
