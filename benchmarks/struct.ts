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
 * Each measurement is the median of REPS interleaved reps (order alternating) after a warm-up run
 * (lib/harness.ts); ratios are against the baseline of the same run. The worker is
 * struct/worker.ts, the message struct/order.ts, the ping-pong (both sides) struct/ping-pong.ts.
 * Run (`npm run bench:struct` builds first), under the bench lock:
 *   npx tsx benchmarks/struct.ts [--quick] [--save]
 * Writes reports/struct.json (or benchmarks/results/struct.json with --save).
 */
import os from 'node:os';
import { Channel, msgpackCodec } from '@shmkit/channel';
import { alternate, fixed, median, QUICK, writeJson } from './lib/harness.js';
import { BenchWorker } from './lib/worker.js';
import { type ChannelCodec, channelCodec, type StructJob } from './struct/jobs.js';
import { checkOrder, makeOrder, Order, type OrderValue, orderStruct } from './struct/order.js';
import { PING_BYTES, type PingKind, pingPong } from './struct/ping-pong.js';

const REPS = QUICK ? 3 : 5;
const N_OBJ = QUICK ? 30_000 : 200_000;
const N_PING = QUICK ? 20_000 : 100_000;
const N_MICRO = QUICK ? 200_000 : 1_000_000;
const TIMEOUT = 60_000;

type Msg = { done?: boolean; error?: string; ready?: boolean };

const worker = new BenchWorker(new URL('./struct/worker.ts', import.meta.url));

/** Posts `job`; resolves when the worker says it is done. Data messages go to `onData`. */
function job(j: StructJob, onData: (m: unknown) => void = () => {}): Promise<void> {
  const done = worker.listen(
    (m) => {
      const r = m as Msg;
      if (r.error !== undefined) throw new Error(r.error);
      if (r.done === true) return true;
      onData(m);
      return false;
    },
    TIMEOUT,
    () => `struct benchmark: worker job ${j.kind}`,
  );
  worker.post(j);
  return done;
}

/** One postMessage round: seconds to receive and check n objects. */
async function postRound(n: number): Promise<number> {
  const ack = new SharedArrayBuffer(4);
  const a = new Int32Array(ack);
  let count = 0;
  let t1 = 0;
  const t0 = performance.now();
  await job({ kind: 'postmessage', n, ack }, (m) => {
    checkOrder(m as OrderValue, count);
    count++;
    // release: the worker may send more (its window).
    Atomics.store(a, 0, count);
    if (count === n) t1 = performance.now();
  });
  if (count !== n) throw new Error(`postMessage: ${count} of ${n} arrived`);
  return (t1 - t0) / 1000;
}

async function channelRound(n: number, codec: ChannelCodec): Promise<number> {
  const ch = new Channel<unknown>({ codec: channelCodec(codec) as never, capacity: 1 << 20 });
  const done = job({ kind: 'channel', n, handle: ch.handle, codec });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) checkOrder(ch.recv({ timeout: TIMEOUT }) as OrderValue, i);
  const t1 = performance.now();
  await done;
  return (t1 - t0) / 1000;
}

async function pingRound(n: number, kind: PingKind): Promise<number> {
  const sab = new SharedArrayBuffer(PING_BYTES);
  const done = job({ kind, n, sab });
  const t0 = performance.now();
  pingPong[kind](sab, n, true, t0 + TIMEOUT);
  const t1 = performance.now();
  await done;
  return (t1 - t0) / 1000;
}

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

/** Encoded sizes of one order: as a struct, as msgpack with shared structures, as plain msgpack. */
function sizes() {
  const ch = new Channel<unknown>({ codec: 'msgpack' });
  ch.send(makeOrder(1));
  ch.send(makeOrder(2));
  const rx = Channel.from<unknown>(ch.handle);
  rx.recv();
  const msgpackShared = rx.peek().length;
  rx.release();
  return {
    struct: Order.byteLength,
    msgpackShared,
    msgpackPlain: msgpackCodec().encode(makeOrder(2)).length,
  };
}

const fmt = (x: number, d = 0): string => fixed(x, d);

async function main(): Promise<void> {
  const load0 = os.loadavg();
  await worker.next(TIMEOUT); // { ready: true }
  const size = sizes();

  // 1. Throughput.
  const thr = await alternate(REPS, ['postmessage', 'struct', 'msgpack', 'msgpack-plain'] as const, (k) =>
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
    `   sizes: struct ${size.struct} B, msgpack shared structures ${size.msgpackShared} B, msgpack per-message records ${size.msgpackPlain} B`,
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
  const pp = await alternate(REPS, ['raw', 'view', 'atomic'] as const, (k) => pingRound(N_PING, k));
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
  const viaClosures = orderStruct('closures');
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

  const file = writeJson('struct.json', {
    schema: 'shmkit-struct-bench/1',
    date: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    loadAverage: { before: load0, after: load1 },
    reps: REPS,
    sizes: size,
    throughput: Object.fromEntries(
      Object.keys(thr).map((k) => [k, { msgsPerSec: rate(k as never), seconds: thr[k as keyof typeof thr] }]),
    ),
    pingPongUs: Object.fromEntries(Object.keys(pp).map((k) => [k, rtt(k as never)])),
  });
  console.log(`wrote ${file}`);
}

try {
  await main();
} finally {
  await worker.terminate();
}
