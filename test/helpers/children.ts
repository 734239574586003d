/**
 * Child processes for the tests of every package: a fixture runs in a new Node process, its
 * output is read line by line, and every wait on it is bounded so a hung child fails the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { withTimeout as bounded } from './workers.js';

export { bounded };

export interface Child {
  readonly proc: ChildProcess;
  /** Resolves with the next line the child prints (rejects when it exits first); bounded. */
  line(timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code or signal and everything printed; bounded. */
  exited(
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

const children = new Set<ChildProcess>();

/**
 * Runs `script` (a fixture in the folder `fixtures`) in a new process with `args`, extra
 * interpreter options and environment: a Node process unless `command` names another interpreter
 * (python3). It is killed by {@link killChildren} if a test leaves it running. `waitMs` is the
 * default bound of `line()` and `exited()`.
 */
export function spawnFixture(
  fixtures: URL,
  script: string,
  args: readonly (string | number)[],
  o: { nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv; command?: string; waitMs?: number } = {},
): Child {
  const waitMs = o.waitMs ?? 20_000;
  const proc = spawn(
    o.command ?? process.execPath,
    [...(o.nodeArgs ?? []), new URL(script, fixtures).pathname, ...args.map(String)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } },
  );
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
  return {
    proc,
    line(timeoutMs = waitMs) {
      return bounded(
        new Promise<string>((resolve, reject) => {
          const check = (): void => {
            if (lines.length > 0) {
              waiting = undefined;
              resolve(lines.shift()!);
            } else if (closed) {
              waiting = undefined;
              reject(new Error(`${script} exited before printing; stderr:\n${stderr}`));
            }
          };
          waiting = check;
          check();
        }),
        timeoutMs,
        `a line from ${script} ${args.join(' ')}`,
      );
    },
    exited(timeoutMs = waitMs) {
      return bounded(exit, timeoutMs, `exit of ${script} ${args.join(' ')}`);
    },
  };
}

/** For afterEach: kills the children a failed test left running. */
export function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}
