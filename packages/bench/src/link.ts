/**
 * The main side's connection to one peer (worker thread or child process): control requests with
 * bounded waits, data routing for the backends whose data shares the path, failure propagation,
 * and clean-up that does not leave processes behind (also when this process exits on an error).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ShmkitError } from '@shmkit/core';
import { type Control, ENV_ADDRESS, ENV_BACKEND, isControl, type ThreadPeerData } from './protocol.js';
import type { BackendId } from './types.js';

const THREAD_PEER = new URL('../workers/thread-peer.mjs', import.meta.url);
const CHILD_PEER = fileURLToPath(new URL('../workers/child-peer.mjs', import.meta.url));

/** How long a peer may take to start and answer `ready`. */
const START_TIMEOUT_MS = 20_000;

type ControlOp = Control['shmkit$'];

export class PeerLink {
  /** Where data (non-control messages) goes; set per run by the session. */
  onData: ((w: unknown) => void) | undefined;
  private readonly replies: Control[] = [];
  private waiter: { resolve: (c: Control) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;
  private rejectFailed!: (e: Error) => void;

  constructor(
    readonly label: string,
    private readonly post: (m: unknown) => void,
  ) {
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => {});
  }

  /** Whether the link broke (peer error, exit, timeout). */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  /** Routes one message from the peer. */
  deliver(m: unknown): void {
    if (isControl(m)) {
      if (m.shmkit$ === 'error') {
        this.fail(new ShmkitError('PEER_DEAD', `${this.label} peer: ${m.message}`));
        return;
      }
      const w = this.waiter;
      if (w !== undefined) {
        this.waiter = undefined;
        w.resolve(m);
      } else this.replies.push(m);
      return;
    }
    const onData = this.onData;
    if (onData === undefined) {
      this.fail(new ShmkitError('CORRUPT', `${this.label}: data arrived outside a run`));
      return;
    }
    try {
      onData(m);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /** Breaks the link: every pending and later wait rejects with `e`. */
  fail(e: Error): void {
    if (this.failure !== undefined) return;
    this.failure = e;
    this.rejectFailed(e);
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  send(m: unknown): void {
    if (this.failure !== undefined) throw this.failure;
    this.post(m);
  }

  /** The next control reply; it must be `op`. Bounded by `timeoutMs`. */
  async expect(op: ControlOp, timeoutMs: number): Promise<Control> {
    if (this.failure !== undefined) throw this.failure;
    const queued = this.replies.shift();
    const reply =
      queued ??
      (await this.within(
        new Promise<Control>((resolve, reject) => {
          this.waiter = { resolve, reject };
        }),
        timeoutMs,
        `waiting for '${op}'`,
      ));
    if (reply.shmkit$ !== op) {
      const e = new ShmkitError(
        'CORRUPT',
        `${this.label}: expected '${op}' from the peer, got '${reply.shmkit$}'`,
      );
      this.fail(e);
      throw e;
    }
    return reply;
  }

  /** Sends `m` and waits for the reply `op`. */
  request(m: Control, op: ControlOp, timeoutMs: number): Promise<Control> {
    this.send(m);
    return this.expect(op, timeoutMs);
  }

  /** `p`, unless the link fails or `timeoutMs` passes first (which breaks the link). */
  within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new ShmkitError('TIMEOUT', `${this.label}: timed out after ${timeoutMs} ms ${what}`);
        this.fail(e);
        reject(e);
      }, timeoutMs);
    });
    return Promise.race([p, this.failed, timeout]).finally(() => clearTimeout(timer));
  }
}

/** A started peer: its link and how to stop it. */
export interface Peer {
  link: PeerLink;
  /** For child peers. */
  child?: ChildProcess;
  stop(): Promise<void>;
}

/** Starts workers/thread-peer.mjs for `backend` and waits until it is ready. */
export async function startThreadPeer(backend: BackendId): Promise<Peer> {
  const data: ThreadPeerData = { backend };
  const w = new Worker(THREAD_PEER, { workerData: data });
  const link = new PeerLink(backend, (m) => w.postMessage(m));
  w.on('message', (m: unknown) => link.deliver(m));
  w.on('error', (e) => link.fail(e));
  w.on('exit', (code) => link.fail(new ShmkitError('PEER_DEAD', `${backend}: worker exited (code ${code})`)));
  const stop = async (): Promise<void> => {
    link.fail(new ShmkitError('CLOSED', `${backend}: stopped`));
    await w.terminate();
  };
  try {
    await link.expect('ready', START_TIMEOUT_MS);
  } catch (e) {
    await stop();
    throw e;
  }
  return { link, stop };
}

/** Children alive right now: killed if this process exits without stopping them. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export interface ChildPeerOptions {
  serialization?: 'json' | 'advanced';
  /** Extra stdio entries after fd 3 (the IPC channel), e.g. pipes. */
  extraStdio?: 'pipe'[];
  address?: unknown;
}

/** Starts workers/child-peer.mjs for `backend` and waits until it is ready (connected). */
export async function startChildPeer(backend: BackendId, o: ChildPeerOptions = {}): Promise<Peer> {
  const env: NodeJS.ProcessEnv = { ...process.env, [ENV_BACKEND]: backend };
  if (o.address !== undefined) env[ENV_ADDRESS] = JSON.stringify(o.address);
  const child = fork(CHILD_PEER, [], {
    serialization: o.serialization ?? 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc', ...(o.extraStdio ?? [])],
    env,
    execArgv: [],
  });
  track(child);
  // The child's last words, for the error message when it dies.
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-2000);
  });
  const link = new PeerLink(backend, (m) => {
    child.send(m as never);
  });
  child.on('message', (m: unknown) => link.deliver(m));
  child.on('error', (e) => link.fail(e));
  child.on('exit', (code, signal) => {
    const last = stderr.trim().split('\n').slice(-3).join(' | ');
    link.fail(
      new ShmkitError(
        'PEER_DEAD',
        `${backend}: child process exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`,
      ),
    );
  });
  const stop = async (): Promise<void> => {
    link.fail(new ShmkitError('CLOSED', `${backend}: stopped`));
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      if (child.connected) child.send({ shmkit$: 'quit' });
    } catch {
      // already gone
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await link.expect('ready', START_TIMEOUT_MS);
  } catch (e) {
    await stop();
    throw e;
  }
  return { link, child, stop };
}
