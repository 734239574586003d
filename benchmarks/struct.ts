/**
 * What @shmkit/struct buys for objects between threads, measured side by side in one run:
 *
 * 1. Throughput of ~100-byte objects (the Order struct, 80 bytes as a struct), worker -> main,
 *    every message checked field by field on arrival:
 *    postMessage (structured clone; a bounded window in flight) vs Channel with the struct codec vs
 *    Channel with codec 'msgpack' (record structures shared in the channel) vs msgpack without the
 *    shared table (every message carries its record definition; for information).
 * 2. A field update seen by another thread: ping-pong, main <-> worker, each side stores a value
 *    and spins until the other's answer shows up. Baseline: a raw Float64Array store, observed by
 *    Atomics.load of the same word (its high half). Then the same through struct views (plain
 *    f64 accessors on both sides), and through struct atomics on i32 fields.
 * 3. (info) Generated accessors (new Function) vs the closure fallback: codec encode+decode and
 *    view field get+set, single thread.
 *
 * Each measurement is the median of REPS interleaved reps (order alternating) after a warm-up run;
 * ratios are against the baseline of the same run. Run under the bench lock:
 *   flock /work/coord/bench.lock npx tsx benchmarks/struct.ts [--quick]
 * Writes reports/struct.json (or benchmarks/results/struct.json with --save).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Channel, msgpackCodec } from '@shmkit/channel';
import { struct } from '@shmkit/struct';
import { checkOrder, makeOrder, Order, Ping, PingInt } from './struct-order.mjs';

const QUICK = process.argv.includes('--quick');
const SAVE = process.argv.includes('--save');
const REPS = QUICK ? 3 : 5;
const N_OBJ = QUICK ? 30_000 : 200_000;
const N_PING = QUICK ? 20_000 : 100_000;
const N_MICRO = QUICK ? 200_000 : 1_000_000;
const TIMEOUT = 60_000;

type Msg = { done?: boolean; error?: string; ready?: boolean };

const worker = new Worker(new URL('./struct-worker.mjs', import.meta.url));
let onMessage: (m: unknown) => void = () => {};
worker.on('message', (m) => onMessage(m));
worker.on('error', (e) => {
  console.error(e);
  process.exit(1);
});

function nextDone(): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker job timed out')), TIMEOUT);
    onMessage = (m) => {
      const r = m as Msg;
      if (r.error !== undefined || r.done === true) {
        clearTimeout(timer);
        if (r.error !== undefined) reject(new Error(r.error));
        else resolve();
      }
    };
  });
}

async function ready(): Promise<void> {
  await new Promise<void>((resolve) => {
    onMessage = (m) => (m as Msg).ready && resolve();
  });
}

/** One postMessage round: seconds to receive and check n objects. */
function postRound(n: number): Promise<number> {
  const ack = new SharedArrayBuffer(4);
  const a = new Int32Array(ack);
  let count = 0;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let t1 = 0;
    const timer = setTimeout(() => reject(new Error('postMessage round timed out')), TIMEOUT);
    onMessage = (m) => {
      const r = m as Msg;
      if (r.error !== undefined) return reject(new Error(r.error));
      if (r.done === true) {
        clearTimeout(timer);
        if (count !== n) return reject(new Error(`postMessage: ${count} of ${n} arrived`));
        return resolve((t1 - t0) / 1000);
      }
      checkOrder(m as never, count);
      count++;
      Atomics.store(a, 0, count);
      if (count === n) t1 = performance.now();
    };
    worker.postMessage({ kind: 'postmessage', n, ack });
  });
}

type ChannelCodec = 'struct' | 'msgpack' | 'msgpack-plain';

async function channelRound(n: number, codec: ChannelCodec): Promise<number> {
  const c = codec === 'struct' ? Order.codec : codec === 'msgpack' ? 'msgpack' : msgpackCodec();
  const ch = new Channel<unknown>({ codec: c as never, capacity: 1 << 20 });
  const done = nextDone();
  worker.postMessage({ kind: 'channel', n, handle: ch.handle, codec });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) checkOrder(ch.recv({ timeout: TIMEOUT }) as never, i);
  const t1 = performance.now();
  await done;
  return (t1 - t0) / 1000;
}

type PingKind = 'raw' | 'view' | 'atomic';

async function pingRound(n: number, kind: PingKind): Promise<number> {
  const sab = new SharedArrayBuffer(Math.max(Ping.byteLength, PingInt.byteLength));
  const done = nextDone();
  worker.postMessage({ kind, n, sab });
  const end = performance.now() + TIMEOUT;
  const t0 = performance.now();
  if (kind === 'raw') {
    const f64 = new Float64Array(sab);
    const i32 = new Int32Array(sab);
    const probe = new Float64Array(1);
    const hi = new Int32Array(probe.buffer);
    for (let i = 1; i <= n; i++) {
      f64[0] = i;
      probe[0] = i;
      const want = hi[1];
      for (let k = 0; Atomics.load(i32, 33) !== want; k++) {
        if ((k & 0xffff) === 0 && performance.now() > end) throw new Error('raw pong');
      }
    }
  } else if (kind === 'view') {
    const v = Ping.view(sab);
    for (let i = 1; i <= n; i++) {
      v.ping = i;
      for (let k = 0; v.pong !== i; k++)
        if ((k & 0xffff) === 0 && performance.now() > end) throw new Error('view pong');
    }
  } else {
    const v = PingInt.view(sab);
    for (let i = 1; i <= n; i++) {
      PingInt.atomic.store(v, 'ping', i);
      for (let k = 0; PingInt.atomic.load(v, 'pong') !== i; k++) {
        if ((k & 0xffff) === 0 && performance.now() > end) throw new Error('atomic pong');
      }
    }
  }
  const t1 = performance.now();
  await done;
  return (t1 - t0) / 1000;
}

/** Runs every backend REPS times, alternating the order; returns the seconds of each rep. */
async function interleave<K extends string>(
  keys: readonly K[],
  run: (k: K) => Promise<number>,
): Promise<Record<K, number[]>> {
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (const k of keys) await run(k); // warm-up: lets V8 optimize every loop
  for (let r = 0; r < REPS; r++) {
    const order = r % 2 === 0 ? keys : [...keys].reverse();
    for (const k of order) out[k].push(await run(k));
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, d = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Single-thread ns per operation of `fn` (n calls), best of 3. */
function micro(n: number, fn: (i: number) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
  }
  return best;
}

async function main(): Promise<void> {
  const load0 = os.loadavg();
  await ready();
  const sizes = {
    struct: Order.byteLength,
    msgpackShared: (() => {
      const ch = new Channel<unknown>({ codec: 'msgpack' });
      ch.send(makeOrder(1));
      ch.send(makeOrder(2));
      const rx = Channel.from<unknown>(ch.handle);
      rx.recv();
      const n = rx.peek().length;
      rx.release();
      return n;
    })(),
    msgpackPlain: msgpackCodec().encode(makeOrder(2)).length,
  };

  // 1. Throughput.
  const thr = await interleave(['postmessage', 'struct', 'msgpack', 'msgpack-plain'] as const, (k) =>
    k === 'postmessage' ? postRound(N_OBJ) : channelRound(N_OBJ, k),
  );
  const rate = (k: keyof typeof thr) => N_OBJ / median(thr[k]);
  const perRep = (k: keyof typeof thr) => thr[k].map((s, i) => thr.postmessage[i]! / s);
  console.log(
    `load average before: ${load0.map((x) => x.toFixed(2)).join(' ')}; ${os.cpus().length} cores; node ${process.version}`,
  );
  console.log(
    `\n1. ${fmt(N_OBJ)} objects worker -> main, each checked field by field (median of ${REPS} reps)`,
  );
  console.log(
    `   sizes: struct ${sizes.struct} B, msgpack shared structures ${sizes.msgpackShared} B, msgpack per-message records ${sizes.msgpackPlain} B`,
  );
  const rows1 = [
    ['postMessage (structured clone)', 'postmessage'],
    ['Channel + Order.codec (struct)', 'struct'],
    ["Channel + 'msgpack' (shared structures)", 'msgpack'],
    ['Channel + msgpack, records in every message', 'msgpack-plain'],
  ] as const;
  for (const [label, k] of rows1) {
    const ratios = perRep(k);
    console.log(
      `   ${label.padEnd(46)} ${fmt(rate(k)).padStart(11)} msgs/s  ${fmt(rate(k) / rate('postmessage'), 2)}x  (reps ${fmt(Math.min(...ratios), 2)}..${fmt(Math.max(...ratios), 2)}x)`,
    );
  }

  // 2. Field update visibility.
  const pp = await interleave(['raw', 'view', 'atomic'] as const, (k) => pingRound(N_PING, k));
  const rtt = (k: keyof typeof pp) => (median(pp[k]) / N_PING) * 1e6;
  console.log(
    `\n2. ping-pong of one field, main <-> worker, ${fmt(N_PING)} round trips (median of ${REPS} reps)`,
  );
  for (const [label, k] of [
    ['raw Float64Array store + Atomics.load', 'raw'],
    ['struct view f64 (v.ping = i / v.pong)', 'view'],
    ['struct atomic i32 (atomic.store / load)', 'atomic'],
  ] as const) {
    console.log(
      `   ${label.padEnd(46)} ${fmt(rtt(k), 3).padStart(9)} us/round trip  ${fmt(rtt(k) / rtt('raw'), 2)}x raw`,
    );
  }

  // 3. Generated accessors vs closures.
  const schema = {
    id: 'u32',
    qty: 'i32',
    price: 'f64',
    side: 'u8',
    ts: 'i64',
    symbol: 'utf8:12',
    levels: 'f64[4]',
  } as const;
  const viaClosures = struct(schema, { name: 'Order', codegen: 'closures' });
  const ring = new Uint8Array(new SharedArrayBuffer(1 << 16));
  const objs = Array.from({ length: 64 }, (_, i) => makeOrder(i));
  console.log(`\n3. (info) accessors, single thread, ns per operation (best of 3)`);
  for (const [label, t] of [
    ['generated (new Function)', Order],
    ['closures (CSP fallback)', viaClosures],
  ] as const) {
    const c = t.codec;
    const codecNs = micro(N_MICRO, (i) => {
      const at = (i & 63) * 128;
      c.encodeInto(objs[i & 63] as never, ring.subarray(at, at + 128));
      c.decodeAt(ring, at, at + t.byteLength);
    });
    const v = t.view(ring.buffer, 0) as unknown as { price: number; qty: number };
    const fieldNs = micro(N_MICRO * 10, (i) => {
      v.price = v.price + 1;
      v.qty = i & 0xffff;
    });
    console.log(
      `   ${label.padEnd(30)} codec encode+decode ${fmt(codecNs, 1).padStart(7)} ns   view get+set x2 ${fmt(fieldNs, 2).padStart(6)} ns`,
    );
  }
  const load1 = os.loadavg();
  console.log(`\nload average after: ${load1.map((x) => x.toFixed(2)).join(' ')}`);

  const out = {
    schema: 'shmkit-struct-bench/1',
    date: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    loadAverage: { before: load0, after: load1 },
    reps: REPS,
    sizes,
    throughput: Object.fromEntries(
      Object.keys(thr).map((k) => [k, { msgsPerSec: rate(k as never), seconds: thr[k as keyof typeof thr] }]),
    ),
    pingPongUs: Object.fromEntries(Object.keys(pp).map((k) => [k, rtt(k as never)])),
  };
  const dir = SAVE ? 'benchmarks/results' : 'reports';
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/struct.json`, `${JSON.stringify(out, null, 2)}\n`);
  await worker.terminate();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
