/**
 * What the tunnel adds to a NATS channel's throughput cost, measured side by side in one run.
 *
 * Run: `npx tsx benchmarks/nats-tunnel.ts [--nats URL] [--n 100000] [--reps 5] [--sizes 64,4096]`
 * (starts nats-server on a free loopback port when no URL is given). Core NATS, loopback.
 *
 * Both variants deliver the same `n` stamped messages to the same receiving process (a child: its
 * own NATS connection, NatsChannel.recvMany, every sequence number checked):
 * - direct: this process sends with NatsChannel.sendMany, 256 messages per call, which is what an
 *   application that talks to NATS itself does;
 * - tunnel: a worker thread sends into a local Channel (1 MiB ring), and tunnel(..., 'out') in this
 *   process forwards it, 256 per batch: what an application written against Channel pays to reach
 *   the network. The worker's own cost (filling the ring) is not the tunnel's, and runs on its
 *   own thread.
 * - prefilled: the same tunnel, with every message already in the local ring (a ring large enough
 *   for all of them) before it starts: the tunnel's own cost, without the producer thread
 *   competing for the cores (on a 2-core machine the live variant runs four busy threads: server,
 *   receiver, producer, tunnel). Only where the ring fits in 64 MiB.
 * Throughput cost = receiver's time from first to last message / n (µs per message). CPU = this
 * process's CPU time (its threads included; for prefilled, from the tunnel's start) plus the
 * receiver's, per message: steadier than time on a loaded machine (the server's is not counted,
 * and is the same for every variant). The variants
 * alternate rep by rep (A B, B A, ...); figures are medians over reps. Overhead = tunnel cost /
 * direct cost - 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { connectNats, NatsChannel, startNatsServer, tunnel } from '@shmkit/nats';
import { alternate, load, median } from './lib/harness.js';

const args = process.argv.slice(2);
let counter = 0;
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};

async function receiver(url: string, subject: string, n: number): Promise<void> {
  const nc = await connectNats(url);
  const ch = await NatsChannel.open<Uint8Array>(nc, subject, { maxPending: n + 16 });
  await ch.listen();
  process.stdout.write('ready\n');
  let got = 0;
  let bad = 0;
  let first = 0;
  let last = 0;
  while (got < n) {
    let batch: Uint8Array[];
    try {
      batch = await ch.recvMany(4096, { timeout: got === 0 ? 60_000 : 2000 });
    } catch {
      break; // silence: the rest was lost (core NATS is at most once)
    }
    if (got === 0) first = performance.now();
    for (const m of batch) {
      if (new DataView(m.buffer, m.byteOffset, 4).getUint32(0, true) !== got) bad++;
      got++;
    }
    last = performance.now();
  }
  const c = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ got, bad, ms: last - first, cpuUs: c.user + c.system })}\n`);
  await nc.close();
}

function startReceiver(
  url: string,
  subject: string,
  n: number,
): Promise<{
  child: ChildProcess;
  result: Promise<{ got: number; bad: number; ms: number; cpuUs: number }>;
}> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--receiver', url, subject, String(n)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    let readyDone = false;
    let resolveResult: (v: { got: number; bad: number; ms: number; cpuUs: number }) => void;
    const result = new Promise<{ got: number; bad: number; ms: number; cpuUs: number }>(
      (r) => (resolveResult = r),
    );
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!readyDone && out.includes('ready\n')) {
        readyDone = true;
        resolve({ child, result });
      }
      const lines = out.split('\n').filter((l) => l.startsWith('{'));
      if (lines.length > 0) resolveResult(JSON.parse(lines[0]!));
    });
    child.once('exit', (code) => {
      if (!readyDone) reject(new Error(`receiver exited with ${code}`));
    });
  });
}

type Variant = 'direct' | 'tunnel' | 'prefilled';

const prefillCapacities = new Map<string, number>();

/**
 * The smallest ring (1 to 64 MiB) that holds all `n` messages of `size` bytes, or 0. Found by
 * filling one, so that no frame arithmetic of @shmkit/channel is copied here.
 */
function prefillCapacity(n: number, size: number): number {
  const key = `${n}/${size}`;
  let found = prefillCapacities.get(key);
  if (found === undefined) {
    found = 0;
    const m = new Uint8Array(size);
    for (let c = 1 << 20; c <= 1 << 26 && found === 0; c *= 2) {
      const ch = new Channel<Uint8Array>({ capacity: c });
      let k = 0;
      while (k < n && ch.trySend(m)) k++;
      if (k === n) found = c;
    }
    prefillCapacities.set(key, found);
  }
  return found;
}

async function once(
  url: string,
  variant: Variant,
  n: number,
  size: number,
): Promise<{ us: number; cpu: number }> {
  const subject = `bench.tunnel.${process.pid}.${++counter}`;
  const { result } = await startReceiver(url, subject, n);
  const nc = await connectNats(url);
  let cpu0 = process.cpuUsage();
  if (variant === 'direct') {
    const ch = await NatsChannel.open<Uint8Array>(nc, subject);
    const m = new Uint8Array(size).fill(0x5a);
    const dv = new DataView(m.buffer);
    const batch: Uint8Array[] = new Array(256);
    for (let i = 0; i < n; i += 256) {
      const k = Math.min(256, n - i);
      batch.length = k;
      for (let j = 0; j < k; j++) {
        dv.setUint32(0, i + j, true);
        batch[j] = m.slice(); // as the tunnel does: one copy out of the buffer the sender reuses
      }
      await ch.sendMany(batch);
    }
    await nc.flush();
  } else {
    const prefilled = variant === 'prefilled';
    const local = new Channel<Uint8Array>({ capacity: prefilled ? prefillCapacity(n, size) : 1 << 20 });
    const w = new Worker(new URL('./nats-tunnel/feeder.mjs', import.meta.url), {
      workerData: { handle: local.handle, n, size },
    });
    // prefilled: every message is in the ring before the tunnel starts, so the run measures the
    // tunnel alone, without a producer thread competing for the two cores.
    if (prefilled) {
      await new Promise((resolve) => w.once('message', resolve));
      cpu0 = process.cpuUsage(); // the tunnel's work only
    }
    const t = tunnel(local, nc, subject, { direction: 'out', batch: 256 });
    await t.done;
    await nc.flush();
    await w.terminate();
  }
  const r = await result;
  const sender = process.cpuUsage(cpu0);
  await nc.close();
  if (r.got !== n || r.bad !== 0)
    throw new Error(`${variant}: ${r.got}/${n} messages arrived, ${r.bad} out of order`);
  // CPU of this process (the sender; with its worker thread) and the receiver, per message.
  return { us: (r.ms * 1000) / n, cpu: (sender.user + sender.system + r.cpuUs) / n };
}

async function main(): Promise<void> {
  const n = Number(opt('n', '100000'));
  const reps = Number(opt('reps', '5'));
  const sizes = opt('sizes', '64,4096').split(',').map(Number);
  const given = opt('nats', '');
  const server = given === '' ? await startNatsServer() : undefined;
  const url = given === '' ? server!.url : given;
  console.log(
    `tunnel overhead, core NATS on loopback, ${n} messages per run, ${reps} reps; load average ${load()}`,
  );
  try {
    for (const size of sizes) {
      const variants: Variant[] =
        prefillCapacity(n, size) > 0 ? ['direct', 'tunnel', 'prefilled'] : ['direct', 'tunnel'];
      const runs = await alternate(reps, variants, (v, warm) =>
        once(url, v, warm ? Math.min(n, 20_000) : n, size),
      );
      const cost = (v: Variant): number[] => runs[v].map((o) => o.us);
      const cpu = (v: Variant): number[] => runs[v].map((o) => o.cpu);
      const d = median(cost('direct'));
      const dc = median(cpu('direct'));
      const line = variants.map((v) => {
        const c = median(cost(v));
        const k = median(cpu(v));
        const vs = v === 'direct' ? '' : `, ${((c / d - 1) * 100).toFixed(1)}% over direct`;
        const vsc = v === 'direct' ? '' : `, ${((k / dc - 1) * 100).toFixed(1)}% over direct`;
        return `${v} ${c.toFixed(2)} µs/msg (${Math.round(1e6 / c)} msgs/s${vs}) [${cost(v)
          .map((x) => x.toFixed(2))
          .join(' ')}]; CPU ${k.toFixed(2)} µs/msg${vsc}`;
      });
      console.log(`${String(size).padStart(5)} B  ${line.join('\n         ')}`);
    }
    console.log(`load average after: ${load()}`);
  } finally {
    await server?.stop();
  }
}

if (args[0] === '--receiver') await receiver(args[1]!, args[2]!, Number(args[3]));
else await main();
