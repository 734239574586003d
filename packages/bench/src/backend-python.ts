/**
 * Backends between two Python processes, for the Python user's question ("how much faster than
 * multiprocessing?"): `python-mp-queue` (multiprocessing.Queue), `python-mp-pipe`
 * (multiprocessing.Pipe, send_bytes/recv_bytes) and `python-shmkit` (a channel of the shmkit
 * Python package, python/ in the repository). Both ends are Python: this process drives
 * `python3 -m shmkit.bench --serve ID`, which forks its peer, runs each request and answers with
 * the elapsed time, the CPU time of both processes, the verification (count, order and CRC-32 of
 * every message) and, for round trips, every round trip in nanoseconds.
 *
 * Available only with python3 >= 3.10 on x86_64 Linux and the python/ folder next to this package
 * (a source checkout). Bytes payloads only: a JavaScript object payload has no Python twin.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Backend, newHistogram, type RunOutcome, type RunSpec, type Session } from './session.js';
import type { BackendId } from './types.js';

type PythonId = 'python-mp-queue' | 'python-mp-pipe' | 'python-shmkit';

/** python/ of the repository: from packages/bench/{src,dist}/ three levels up. */
const PYTHON_DIR = fileURLToPath(new URL('../../../python/', import.meta.url));

let availability: string | undefined | null = null;

/** Why the Python backends cannot run here, or undefined. Checked once. */
export function pythonUnavailable(): string | undefined {
  if (availability !== null) return availability;
  if (os.platform() !== 'linux' || os.arch() !== 'x64') {
    availability = 'the shmkit Python package runs on x86_64 Linux only';
  } else if (!existsSync(`${PYTHON_DIR}shmkit/__init__.py`)) {
    availability = `the shmkit Python package is not at ${PYTHON_DIR} (a source checkout has it)`;
  } else {
    const r = spawnSync('python3', ['-c', 'import sys; print(sys.version_info >= (3, 10))'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (r.error !== undefined || r.status !== 0)
      availability = 'python3 not found: install python3 (>= 3.10)';
    else if (r.stdout.trim() !== 'True') availability = 'python3 is older than 3.10';
    else availability = undefined;
  }
  return availability;
}

interface Reply {
  n?: number;
  elapsedNs?: number;
  cpuUs?: number;
  verified?: boolean;
  why?: string | null;
  rtts?: number[] | null;
  error?: string;
  ready?: boolean;
}

class PythonSession implements Session {
  private broken = false;
  private lines: string[] = [];
  private waiting: (() => void) | undefined;
  private stderr = '';
  private exited = false;

  private constructor(
    private readonly id: PythonId,
    private readonly proc: ChildProcess,
  ) {
    let buffered = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        this.lines.push(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
      }
      this.waiting?.();
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    proc.on('close', () => {
      this.exited = true;
      this.broken = true;
      this.waiting?.();
    });
  }

  static async open(id: PythonId): Promise<PythonSession> {
    const proc = spawn('python3', ['-m', 'shmkit.bench', '--serve', id], {
      cwd: PYTHON_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const s = new PythonSession(id, proc);
    const first = await s.reply(20_000);
    if (first.ready !== true) throw new Error(`${id}: the Python peer did not start`);
    return s;
  }

  get usable(): boolean {
    return !this.broken;
  }

  async run(spec: RunSpec): Promise<RunOutcome> {
    if (spec.kind !== 'bytes') throw new Error(`${this.id} carries bytes payloads only`);
    this.proc.stdin!.write(
      `${JSON.stringify({ pattern: spec.pattern, size: spec.size, n: spec.n, timeoutMs: spec.timeoutMs })}\n`,
    );
    const r = await this.reply(spec.timeoutMs + 10_000);
    if (r.error !== undefined) {
      this.broken = true;
      throw new Error(`${this.id}: ${r.error}`);
    }
    let histogram: RunOutcome['histogram'];
    if (spec.pattern === 'rtt') {
      histogram = newHistogram();
      for (const ns of r.rtts ?? []) histogram.recordValue(ns);
    }
    return {
      n: r.n ?? 0,
      elapsedMs: (r.elapsedNs ?? 0) / 1e6,
      cpuUs: r.cpuUs ?? 0,
      verified: r.verified === true && r.n === spec.n,
      why: r.why ?? undefined,
      histogram,
    };
  }

  async close(): Promise<void> {
    this.proc.stdin!.end();
    const closed = new Promise<void>((resolve) => {
      if (this.exited) resolve();
      else this.proc.once('close', () => resolve());
    });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(t);
  }

  /** The next JSON line from the peer, within `timeoutMs`. */
  private reply(timeoutMs: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.broken = true;
        this.proc.kill('SIGKILL');
        reject(new Error(`${this.id}: no answer from the Python peer within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        const line = this.lines.shift();
        if (line !== undefined) {
          clearTimeout(timer);
          this.waiting = undefined;
          try {
            resolve(JSON.parse(line) as Reply);
          } catch {
            reject(new Error(`${this.id}: the Python peer printed ${JSON.stringify(line.slice(0, 200))}`));
          }
        } else if (this.exited) {
          clearTimeout(timer);
          this.waiting = undefined;
          reject(new Error(`${this.id}: the Python peer exited; stderr:\n${this.stderr}`));
        }
      };
      this.waiting = check;
      check();
    });
  }
}

function pythonBackend(id: PythonId, summary: string): Backend {
  return {
    id: id as BackendId,
    where: 'process',
    family: 'channel',
    summary,
    unavailable: async () => pythonUnavailable(),
    open: () => PythonSession.open(id),
  };
}

/** The Python backends, for the BACKENDS table. */
export const PYTHON_BACKENDS = {
  'python-mp-queue': pythonBackend(
    'python-mp-queue',
    'two Python processes, multiprocessing.Queue (pickled)',
  ),
  'python-mp-pipe': pythonBackend(
    'python-mp-pipe',
    'two Python processes, multiprocessing.Pipe send_bytes/recv_bytes',
  ),
  'python-shmkit': pythonBackend('python-shmkit', 'two Python processes, a shmkit channel (Python package)'),
} as const;
