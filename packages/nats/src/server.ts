/**
 * A local nats-server for tests, benchmarks and trying things out: finds the binary, starts it on
 * a free loopback port with JetStream and a store directory of its own, and stops it. Production
 * servers are run by their operators; this is the small launcher the test suite and `shmkit bench`
 * share, so both start the real server the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ShmkitError } from '@shmkit/core';

/** The Debian/Ubuntu package that provides the binary (named in skip messages). */
export const NATS_SERVER_PACKAGE = 'nats-server';

/**
 * The path of the `nats-server` binary: `$NATS_SERVER` when set, else the first on PATH, then the
 * sbin folders (Debian installs it in /usr/sbin, which is not on a normal user's PATH).
 * undefined when there is none.
 */
export function findNatsServer(): string | undefined {
  const env = process.env.NATS_SERVER;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const candidates = env ? [env] : dirs.filter((d) => d !== '').map((d) => path.join(d, 'nats-server'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A running nats-server started by {@link startNatsServer}. */
export interface NatsServer {
  /** `nats://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (kept across restart, removed by stop). */
  readonly storeDir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and, unless `keepStore`, removes its store. */
  stop(o?: { keepStore?: boolean }): Promise<void>;
  /** Stops the server and starts it again on the same port and store: a server restart. */
  restart(): Promise<void>;
}

/** Options of {@link startNatsServer}. */
export interface StartNatsServerOptions {
  /** TCP port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Enables JetStream (default true). */
  jetstream?: boolean;
  /** The server's max_payload in bytes (server default: 1 MiB). */
  maxPayload?: number;
  /** How long to wait for the server to accept connections (default 10 s). */
  timeout?: number;
}

/**
 * Starts `nats-server` on 127.0.0.1 and resolves once it accepts connections.
 * NOT_FOUND when the binary is missing (install the Debian package `nats-server`).
 *
 * @example
 * ```ts fragment
 * const server = await startNatsServer();
 * const nc = await connect({ servers: server.url });
 * // ...
 * await nc.close();
 * await server.stop();
 * ```
 */
export async function startNatsServer(o: StartNatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (bin === undefined) {
    throw new ShmkitError(
      'NOT_FOUND',
      `nats-server is not installed (apt-get install ${NATS_SERVER_PACKAGE}, or set NATS_SERVER to its path)`,
    );
  }
  const port = o.port ?? (await freePort());
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'shmkit-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (o.jetstream !== false) args.push('-js', '-sd', storeDir);
  let configFile: string | undefined;
  if (o.maxPayload !== undefined) {
    // max_payload has no command-line flag: a one-line configuration file.
    configFile = path.join(storeDir, 'server.conf');
    writeFileSync(configFile, `max_payload: ${o.maxPayload}\n`);
    args.push('-c', configFile);
  }
  const timeout = o.timeout ?? 10_000;
  let server = await launch(bin, args, port, timeout);
  // The guard stops the server when this process ends; its store goes with it.
  const removeStore = (): void => rmSync(storeDir, { recursive: true, force: true });
  process.once('exit', removeStore);
  const halt = async (): Promise<void> => {
    const { child } = server;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Closing the guard's stdin stops the server (SIGTERM); SIGKILL if it lingers.
    child.stdin!.end();
    const t = setTimeout(() => server.kill(), 5000);
    await exited;
    clearTimeout(t);
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop(so) {
      await halt();
      process.off('exit', removeStore);
      if (so?.keepStore !== true) removeStore();
    },
    async restart() {
      await halt();
      server = await launch(bin, args, port, timeout);
    },
  };
}

/**
 * The server runs under a small shell guard that stops it when its stdin closes: when we close
 * it, and when this process dies in any way (even SIGKILL), since the kernel closes the pipe.
 * So a crashed test run or benchmark never leaves a server behind. The guard prints the server's
 * pid first, for SIGKILL if it does not stop.
 */
const GUARD =
  'exec 3<&0; "$0" "$@" </dev/null & p=$!; echo $p; (cat <&3 >/dev/null; kill $p 2>/dev/null) & wait $p';

interface Launched {
  child: ChildProcess;
  kill(): void;
}

async function launch(bin: string, args: string[], port: number, timeout: number): Promise<Launched> {
  const child = spawn('/bin/sh', ['-c', GUARD, bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let pid = 0;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    if (pid === 0) pid = Number.parseInt(d, 10) || 0;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  // Neither the guard nor its pipes keep this process's event loop alive.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr])
    (s as unknown as { unref?: () => void }).unref?.();
  const kill = (): void => {
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    child.kill('SIGKILL');
  };
  const end = Date.now() + timeout;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ShmkitError('UNSUPPORTED', `nats-server exited at start: ${stderr.trim().slice(-500)}`);
    }
    if (await accepts(port)) return { child, kill };
    if (Date.now() > end) {
      kill();
      throw new ShmkitError(
        'TIMEOUT',
        `nats-server did not accept connections on port ${port} within ${timeout} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A TCP port on 127.0.0.1 that nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
