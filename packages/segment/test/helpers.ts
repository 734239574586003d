/**
 * Helpers of the segment tests: unique segment files that are always removed, child processes
 * running the plain-JavaScript fixtures (which import the built package, as users do), and
 * bounded waits on words of a mapping.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import {
  createMappedFile,
  futexWaiter,
  type MappedFile,
  Segment,
  SHM_DIR,
  unlinkMappedFile,
} from '@shmkit/segment';

/** Every file a test creates starts with this, so the suite can check none is left. */
export const PREFIX = `shmkit-test-${process.pid}-`;
let counter = 0;
const created = new Set<string>();

/** A fresh path in /dev/shm, removed by {@link removeTestFiles}. */
export function testPath(tag: string): string {
  const p = `${SHM_DIR}/${PREFIX}${++counter}-${tag}`;
  created.add(p);
  return p;
}

/** A new zeroed segment file of `size` bytes (0600). */
export function testFile(tag: string, size = 4096): MappedFile {
  return createMappedFile(testPath(tag), { size });
}

/** For afterEach: unlinks every file this process's tests created. */
export function removeTestFiles(): void {
  for (const p of created) unlinkMappedFile(p);
  created.clear();
}

/** Files of this test process still in /dev/shm. */
export function leftoverFiles(): string[] {
  return readdirSync(SHM_DIR).filter((n) => n.startsWith(PREFIX));
}

/** Every segment a test names starts with this (its file: `shmkit.` + this). */
export const SEGMENT_PREFIX = `t${process.pid}-`;
const segments = new Map<string, string | undefined>();

/** A fresh segment name (in /dev/shm, or `dir`), unlinked by {@link removeTestSegments}. */
export function segmentName(tag: string, dir?: string): string {
  const name = `${SEGMENT_PREFIX}${++counter}-${tag}`;
  segments.set(name, dir);
  return name;
}

/** For afterEach: unlinks every segment this process's tests named. */
export function removeTestSegments(): void {
  for (const [name, dir] of segments) Segment.unlink(name, { dir });
  segments.clear();
}

/** Segment files of this test process still in /dev/shm. */
export function leftoverSegments(): string[] {
  return readdirSync(SHM_DIR).filter((n) => n.startsWith(`shmkit.${SEGMENT_PREFIX}`));
}

export interface Child {
  readonly proc: ChildProcess;
  /** Resolves with the next line the child prints (rejects when it exits first). */
  line(timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) and everything printed; bounded. */
  exited(
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

const fixtures = new URL('./fixtures/', import.meta.url);

/** Runs fixtures/`script` in a new Node process with `args`; killed if still running at the end. */
export function startChild(script: string, args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [new URL(script, fixtures).pathname, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(proc);
  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  let waiting: ((l: string | undefined) => void) | undefined;
  let buffered = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
    flush();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exit = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      proc.on('close', (code, signal) => {
        children.delete(proc);
        resolve({ code, signal, stdout, stderr });
        flush();
      });
    },
  );
  let closed = false;
  void exit.then(() => {
    closed = true;
    flush();
  });
  function flush(): void {
    if (waiting === undefined) return;
    if (lines.length > 0) {
      const w = waiting;
      waiting = undefined;
      w(lines.shift()!);
    } else if (closed) {
      const w = waiting;
      waiting = undefined;
      w(undefined);
    }
  }
  return {
    proc,
    line(timeoutMs = 20_000) {
      return bounded(
        new Promise<string>((resolve, reject) => {
          waiting = (l) =>
            l === undefined
              ? reject(new Error(`child exited before printing; stderr:\n${stderr}`))
              : resolve(l);
          flush();
        }),
        timeoutMs,
        `a line from ${script} ${args.join(' ')}`,
      );
    },
    exited(timeoutMs = 20_000) {
      return bounded(exit, timeoutMs, `exit of ${script} ${args.join(' ')}`);
    },
  };
}

const children = new Set<ChildProcess>();

/** For afterEach: kills children a failed test left running. */
export function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}

/** Rejects when `p` has not settled within `ms`. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Waits (async, bounded) until word `index` of `w` is no longer `value`. */
export async function waitWhile(
  w: Int32Array,
  index: number,
  value: number,
  timeoutMs = 20_000,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (Atomics.load(w, index) === value) {
    const left = end - performance.now();
    if (left <= 0) throw new Error(`word ${index} still ${value} after ${timeoutMs} ms`);
    await futexWaiter.waitAsync(w, index, value, left);
  }
}

/**
 * Wakes one waiter of word `index` without changing the word, retrying until the kernel reports
 * that it woke one: proof that a sleeper was there and was woken by this process's FUTEX_WAKE.
 */
export async function wakeOneSleeper(w: Int32Array, index: number, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (futexWaiter.notify(w, index, 1) === 0) {
    if (performance.now() > end) throw new Error(`nobody slept on word ${index} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
