/**
 * What @shmkit/channel's Channel and RingBuffer deliver, measured side by side in one run with
 * what Node offers without shmkit (worker postMessage) and with the cheapest shared-memory code
 * one can write by hand (a minimal SPSC ring, the JavaScript limit; ringbuf.js for RingBuffer).
 *
 * Run: `npx tsx benchmarks/channel.ts [--quick] [--only=1,4]` (or `npm run bench:channel`, which
 * builds first; the benchmark reads packages/channel/dist). Prints one table per scenario with its
 * ratios, their targets and whether each was met, then a summary; writes
 * reports/channel.json, or benchmarks/results/channel.json with --save (every run's numbers, the
 * ratios per rep, the machine).
 *
 * 1. Throughput, 64-byte Uint8Array messages, worker -> main thread:
 *    (a) Channel (bytes codec, one producer / one consumer, 1 MiB ring; main: blocking recv loop),
 *    (b) postMessage of the same Uint8Array (structured clone, not transfer), 'message' events,
 *    (c) a minimal hand-written ring: 64-byte slots, head and tail on separate 128-byte lines,
 *        each side caches the other's index, spins on full / empty, never sleeps, no framing, no
 *        checks. Its consumer copies each message out (`slice`), as Channel.recv does: both give
 *        the receiver a Uint8Array it owns, so the ratio compares like with like. Ring /
 *        postMessage is printed too: it bounds what any shared-memory channel can reach here.
 * 2. ~100-byte objects: Channel with the msgpack codec vs postMessage (structured clone).
 * 3. 1 MiB payloads: Channel zero copy (claim -> fill -> publish / peek -> verify -> release, 4 MiB
 *    ring) vs postMessage with a transfer list (a fresh ArrayBuffer per message, filled, moved);
 *    the Channel copying path (send / recv of a 1 MiB Uint8Array) for information.
 * 4. Ping-pong latency, 64-byte messages, main <-> one worker: two Channels with blocking calls on
 *    main, the same with sendAsync / recvAsync on main, and postMessage both ways. The worker
 *    blocks in every Channel variant. Per-round-trip times go to hdr-histogram-js histograms.
 * 5. RingBuffer vs ringbuf.js 0.4.0 (which RingBuffer is a drop-in for), Float32Array, worker
 *    pushes chunks of 128 samples, main pops chunks of 128; same capacity (16384 samples).
 *
 * Why it is built this way:
 * - The machine is shared and noisy (docs/architecture.md, "Benchmarks"): every backend of a scenario runs
 *   in the same process, rep by rep, alternating the order (A B C, C B A, ...); each number is the
 *   median of REPS reps, after a warm-up run of every backend that lets V8 optimize every loop.
 * - Every delivered message is verified on the receiving side: the count, the order (a sequence
 *   number in the first 4 bytes or the `id` field) and a checksum (of bytes 4-7, of a field, of a
 *   few words of each 1 MiB payload, of every sample), so no backend can win by dropping or
 *   skipping work. The producers do the same work for every backend (stamp a reused payload;
 *   build each object; fill each 1 MiB payload completely).
 * - postMessage gets a bounded window of messages in flight (the main thread acknowledges each
 *   message with one Atomics.store; the worker spins when the window is full). Without it the
 *   worker floods an unbounded queue (a million messages of memory); the window is larger than
 *   what the Channel's ring holds, so it does not hold postMessage back. A Channel's memory is
 *   bounded by its ring.
 * - The worker is benchmarks/lib/channel-worker.ts, started through lib/ts-worker.mjs (on Node
 *   20 a tsx loader does not reach a worker's entry module by itself). One worker serves every
 *   round; a round starts on a shared GO word the worker spins on, and the clock runs on the main
 *   thread from GO to the last message verified. Throughput rounds also report CPU time of the
 *   whole process (both threads) per message.
 * - Two threads that spin need both cores: when other processes run, a spinning pair degrades
 *   far more than postMessage. The run first samples how busy the machine is (500 ms) and says
 *   so; per-rep ratios (min..max) show how much the reps disagreed.
 * - Every wait is bounded: Channel calls carry a timeout, hand-written spin loops check a
 *   deadline, postMessage rounds have a timer; a bug fails the run with a message, not a hang.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Channel, RingBuffer } from '@shmkit/channel';
import * as hdr from 'hdr-histogram-js';
import { RingBuffer as RingBufJs } from 'ringbuf.js';
import {
  ACK,
  CTL_BYTES,
  DONE,
  ERR,
  ERR_TEXT,
  GO,
  MAGIC,
  READY,
  RING_DATA,
  RING_HEAD,
  RING_TAIL,
  TS0,
  WAIT_MS,
} from './lib/channel-protocol.js';
import { writeResult } from './lib/harness.js';

const QUICK = process.argv.includes('--quick');
/** `--only=1,4`: run only these scenarios (for investigations; the results file then lacks the rest). */
const ONLY = new Set(
  (process.argv.find((a) => a.startsWith('--only='))?.slice(7) ?? '1,2,3,4,5').split(',').map(Number),
);
/** Timed repetitions of every measurement; tables show the median. */
const REPS = QUICK ? 3 : 5;
/** 1: 64-byte messages per timed run. */
const N_BYTES = QUICK ? 100_000 : 1_000_000;
/** 2: objects per timed run. */
const N_OBJECTS = QUICK ? 30_000 : 200_000;
/** 3: 1 MiB messages per timed run. */
const N_BIG = QUICK ? 200 : 1_000;
/** 4: round trips per timed run. */
const N_RTT = QUICK ? 2_000 : 20_000;
/** 5: Float32 samples per timed run (a multiple of CHUNK). */
const N_SAMPLES = QUICK ? 1 << 22 : 1 << 25;
/** Warm-up runs use this fraction of n. */
const WARM_FRACTION = 0.25;

const SMALL = 64;
const BIG = 1 << 20;
const CHUNK = 128;
const SMALL_CAPACITY = 1 << 20;
const BIG_CAPACITY = 4 << 20;
const RB_CAPACITY = 16_384;
/** postMessage windows (messages in flight), at least what the matching Channel ring holds. */
const SMALL_WINDOW = 16_384; // the 1 MiB ring holds 13,107 framed 64-byte messages
const OBJECT_WINDOW = 16_384; // ... and about 9,000 framed msgpack objects
const BIG_WINDOW = 8; // the 4 MiB ring holds 3 framed 1 MiB messages
const WAIT = { timeout: WAIT_MS };

/** The worker, and what made it fail (its 'error' event), if anything did. */
class BenchWorker {
  readonly w: Worker;
  failure: Error | undefined;

  constructor() {
    this.w = new Worker(new URL('./lib/ts-worker.mjs', import.meta.url), {
      workerData: { fixture: new URL('./lib/channel-worker.ts', import.meta.url).href },
    });
    this.w.on('error', (e) => {
      this.failure = e;
    });
  }

  /** Resolves on the worker's first message ('ready'), bounded. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('benchmark worker did not start in time')), WAIT_MS);
      this.w.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      this.w.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  post(job: Record<string, unknown>): void {
    if (this.failure) throw this.failure;
    this.w.postMessage(job);
  }

  /** Blocks until the worker has finished the job of `ctl`, bounded; throws if it failed. */
  done(ctl: Int32Array): void {
    waitAtLeast(ctl, DONE, 1, 'finish its job');
    throwWorkerError(ctl);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Throws what the worker reported if its job of `ctl` failed. */
function throwWorkerError(ctl: Int32Array): void {
  if (Atomics.load(ctl, ERR) === 0) return;
  const len = Atomics.load(ctl, ERR + 1);
  const text = new TextDecoder().decode(new Uint8Array(ctl.buffer, ERR_TEXT, len).slice());
  throw new Error(`benchmark worker failed: ${text}`);
}

/** Blocks the main thread (fine in a benchmark) until `ctl[index] >= value`, bounded. */
function waitAtLeast(ctl: Int32Array, index: number, value: number, what: string): void {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    const v = Atomics.load(ctl, index);
    if (v >= value) return;
    throwWorkerError(ctl);
    if (performance.now() > deadline) throw new Error(`benchmark worker did not ${what} in time`);
    Atomics.wait(ctl, index, v, 100);
  }
}

function late(deadline: number, what: string): void {
  if (performance.now() > deadline) throw new Error(`main: ${what} for ${WAIT_MS} ms`);
}

const newCtl = (): Int32Array => new Int32Array(new SharedArrayBuffer(CTL_BYTES));

/** One timed run: wall ms from GO to the last message verified, process CPU ms in that time. */
interface Run {
  n: number;
  ms: number;
  cpuMs: number;
}

/**
 * Starts the job of `ctl` (posted already) once the worker is ready; `consume` then receives
 * everything on the main thread. Returns the run's times.
 */
function timedBlocking(ctl: Int32Array, n: number, consume: () => void): Run {
  waitAtLeast(ctl, READY, 1, 'get ready');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  Atomics.store(ctl, GO, 1);
  try {
    consume();
  } catch (e) {
    throwWorkerError(ctl); // a timeout here usually means the worker died: say why
    throw e;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { n, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * The postMessage form: `onData(m, c)` gets the c-th data message; the run ends with the n-th.
 * Acknowledges every message in ACK (the worker's window), bounded by a timer.
 */
function timedPost<M>(
  wk: BenchWorker,
  job: Record<string, unknown>,
  ctl: Int32Array,
  n: number,
  onData: (m: M, c: number) => void,
): Promise<Run> {
  return new Promise<Run>((resolve, reject) => {
    let c = 0;
    let t0 = 0;
    let cpu0: NodeJS.CpuUsage | undefined;
    const fail = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onMessage = (m: M): void => {
      try {
        onData(m, c);
      } catch (e) {
        fail(e as Error);
        return;
      }
      c++;
      Atomics.store(ctl, ACK, c);
      if (c === n) {
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        cleanup();
        resolve({ n, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
      }
    };
    const onError = (e: Error): void => fail(e);
    const onExit = (code: number): void => fail(new Error(`benchmark worker exited with code ${code}`));
    const timer = setTimeout(
      () => fail(new Error(`postMessage round: ${c} of ${n} messages after ${2 * WAIT_MS} ms`)),
      2 * WAIT_MS,
    );
    const cleanup = (): void => {
      clearTimeout(timer);
      wk.w.off('message', onMessage);
      wk.w.off('error', onError);
      wk.w.off('exit', onExit);
    };
    wk.w.on('message', onMessage);
    wk.w.on('error', onError);
    wk.w.on('exit', onExit);
    try {
      wk.post(job);
      waitAtLeast(ctl, READY, 1, 'get ready');
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      Atomics.store(ctl, GO, 1);
    } catch (e) {
      fail(e as Error);
    }
  });
}

/**
 * Runs every backend once (warm-up, WARM_FRACTION of n), then REPS reps alternating the order;
 * returns the timed results per backend.
 */
async function alternate<K extends string, R>(
  names: readonly K[],
  run: (k: K, warm: boolean) => R | Promise<R>,
): Promise<Record<K, R[]>> {
  const out = {} as Record<K, R[]>;
  for (const k of names) {
    out[k] = [];
    await run(k, true);
  }
  for (let r = 0; r < REPS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const k of order) out[k].push(await run(k, false));
  }
  return out;
}

const scaled = (n: number, warm: boolean, multiple = 1): number =>
  warm ? Math.max(multiple, Math.floor((n * WARM_FRACTION) / multiple) * multiple) : n;

const fmt = (x: number, digits = 1): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// Verification shared by every backend.

/** Checks a 64-byte message: sequence number c in bytes 0-3; returns bytes 4-7 for the checksum. */
function checkSmall(m: Uint8Array, c: number): number {
  if (m.length !== SMALL) throw new Error(`message ${c}: ${m.length} bytes, expected ${SMALL}`);
  const seq = m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24);
  if (seq !== c) throw new Error(`message ${c}: sequence number ${seq} (lost, duplicated or reordered)`);
  return m[4]! | (m[5]! << 8) | (m[6]! << 16) | (m[7]! << 24);
}

/** The checksum of n 64-byte messages: the sum of bytes 4-7 read as int32. */
function expectedSmallSum(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += i ^ MAGIC;
  return s;
}

function verifySum(what: string, got: number, expected: number): void {
  if (got !== expected) throw new Error(`${what}: checksum ${got}, expected ${expected}`);
}

interface Obj {
  id: number;
  name: string;
  tags: string[];
  score: number;
  ts: number;
}

/** Checks an object: id c (order), score and tags consistent; returns ts - TS0 for the checksum. */
function checkObj(o: Obj, c: number): number {
  if (o.id !== c) throw new Error(`object ${c}: id ${o.id} (lost, duplicated or reordered)`);
  if (o.score !== c * 0.25 || o.tags.length !== 4 || o.name.length < 14) {
    throw new Error(`object ${c}: fields do not match ${JSON.stringify(o)}`);
  }
  return o.ts - TS0;
}

/** Checks a 1 MiB payload through an Int32Array over it: first, middle and last words. */
function checkBig(u: Int32Array, c: number): number {
  const last = u.length - 1;
  if (u.length !== BIG / 4) throw new Error(`payload ${c}: ${u.length * 4} bytes, expected ${BIG}`);
  const a = u[0]!;
  const b = u[last >> 1]!;
  const z = u[last]!;
  if (a !== c || b !== c || z !== (c ^ MAGIC)) throw new Error(`payload ${c}: words ${a} ${b} ${z}`);
  return a + b + z;
}

function expectedBigSum(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += 2 * i + (i ^ MAGIC);
  return s;
}

// ---------------------------------------------------------------------------------------------
// 1. 64-byte messages, worker -> main.

function recvSmallChannel(ch: Channel<Uint8Array>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) sum += checkSmall(ch.recv(WAIT), c);
  return sum;
}

function recvSmallRing(sab: SharedArrayBuffer, n: number, slots: number): number {
  const i32 = new Int32Array(sab, 0, RING_DATA / 4);
  const u8 = new Uint8Array(sab, RING_DATA, slots * SMALL);
  const mask = slots - 1;
  const deadline = performance.now() + WAIT_MS;
  let head = 0;
  let tail = 0;
  let sum = 0;
  for (let c = 0; c < n; c++) {
    if (head === tail) {
      let s = 0;
      for (;;) {
        tail = Atomics.load(i32, RING_TAIL);
        if (tail !== head) break;
        if ((++s & 0xffff) === 0) late(deadline, 'ring empty');
      }
    }
    const off = (head & mask) * SMALL;
    const m = u8.slice(off, off + SMALL);
    head++;
    Atomics.store(i32, RING_HEAD, head);
    sum += checkSmall(m, c);
  }
  return sum;
}

type SmallBackend = 'channel' | 'postMessage' | 'ring';

async function smallRound(wk: BenchWorker, k: SmallBackend, warm: boolean): Promise<Run> {
  const n = scaled(N_BYTES, warm);
  const ctl = newCtl();
  let sum = 0;
  let run: Run;
  if (k === 'channel') {
    const ch = new Channel<Uint8Array>({ capacity: SMALL_CAPACITY });
    wk.post({ kind: 'bytes-channel', ctl, handle: ch.handle, n, size: SMALL });
    run = timedBlocking(ctl, n, () => {
      sum = recvSmallChannel(ch, n);
    });
  } else if (k === 'ring') {
    const slots = SMALL_CAPACITY / SMALL;
    const sab = new SharedArrayBuffer(RING_DATA + SMALL_CAPACITY);
    wk.post({ kind: 'bytes-ring', ctl, sab, n, size: SMALL, slots });
    run = timedBlocking(ctl, n, () => {
      sum = recvSmallRing(sab, n, slots);
    });
  } else {
    const job = { kind: 'bytes-post', ctl, n, size: SMALL, window: SMALL_WINDOW };
    run = await timedPost<Uint8Array>(wk, job, ctl, n, (m, c) => {
      sum += checkSmall(m, c);
    });
  }
  wk.done(ctl);
  verifySum(`64-byte ${k}`, sum, expectedSmallSum(n));
  return run;
}

// ---------------------------------------------------------------------------------------------
// 2. Objects.

type ObjBackend = 'channel' | 'postMessage';

function recvObjChannel(ch: Channel<Obj>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) sum += checkObj(ch.recv(WAIT), c);
  return sum;
}

async function objRound(wk: BenchWorker, k: ObjBackend, warm: boolean): Promise<Run> {
  const n = scaled(N_OBJECTS, warm);
  const ctl = newCtl();
  let sum = 0;
  let run: Run;
  if (k === 'channel') {
    const ch = new Channel<Obj>({ capacity: SMALL_CAPACITY, codec: 'msgpack' });
    wk.post({ kind: 'obj-channel', ctl, handle: ch.handle, n });
    run = timedBlocking(ctl, n, () => {
      sum = recvObjChannel(ch, n);
    });
  } else {
    const job = { kind: 'obj-post', ctl, n, window: OBJECT_WINDOW };
    run = await timedPost<Obj>(wk, job, ctl, n, (o, c) => {
      sum += checkObj(o, c);
    });
  }
  wk.done(ctl);
  verifySum(`objects ${k}`, sum, (n * (n - 1)) / 2);
  return run;
}

// ---------------------------------------------------------------------------------------------
// 3. 1 MiB payloads.

type BigBackend = 'channel zero-copy' | 'postMessage transfer' | 'channel copy';

function recvBigClaim(ch: Channel<Uint8Array>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) {
    const v = ch.peek(WAIT);
    sum += checkBig(new Int32Array(v.buffer, v.byteOffset, v.length >> 2), c);
    ch.release();
  }
  return sum;
}

function recvBigCopy(ch: Channel<Uint8Array>, n: number): number {
  let sum = 0;
  for (let c = 0; c < n; c++) {
    const m = ch.recv(WAIT);
    sum += checkBig(new Int32Array(m.buffer, m.byteOffset, m.length >> 2), c);
  }
  return sum;
}

async function bigRound(wk: BenchWorker, k: BigBackend, warm: boolean): Promise<Run> {
  const n = scaled(N_BIG, warm);
  const ctl = newCtl();
  let sum = 0;
  let run: Run;
  if (k === 'postMessage transfer') {
    const job = { kind: 'big-post', ctl, n, size: BIG, window: BIG_WINDOW };
    run = await timedPost<ArrayBuffer>(wk, job, ctl, n, (ab, c) => {
      sum += checkBig(new Int32Array(ab), c);
    });
  } else {
    const ch = new Channel<Uint8Array>({ capacity: BIG_CAPACITY });
    const zero = k === 'channel zero-copy';
    wk.post({ kind: zero ? 'big-claim' : 'big-copy', ctl, handle: ch.handle, n, size: BIG });
    run = timedBlocking(ctl, n, () => {
      sum = zero ? recvBigClaim(ch, n) : recvBigCopy(ch, n);
    });
  }
  wk.done(ctl);
  verifySum(`1 MiB ${k}`, sum, expectedBigSum(n));
  return run;
}

// ---------------------------------------------------------------------------------------------
// 4. Ping-pong latency.

type RttBackend = 'channel blocking' | 'channel async' | 'postMessage';

interface RttRun {
  n: number;
  p50us: number;
  p99us: number;
  p999us: number;
  maxUs: number;
  meanUs: number;
  histogram: hdr.Histogram;
}

const newHistogram = (): hdr.Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });

/** Records one round trip of `ms` milliseconds, in nanoseconds. */
function record(h: hdr.Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1e6)));
}

function checkEcho(m: Uint8Array, c: number): void {
  if (checkSmall(m, c) !== (c ^ MAGIC)) throw new Error(`round trip ${c}: payload changed`);
}

function pingPongBlocking(ping: Channel<Uint8Array>, pong: Channel<Uint8Array>, n: number, h: hdr.Histogram) {
  const buf = new Uint8Array(SMALL);
  const w = new Int32Array(buf.buffer, 0, 2);
  for (let c = 0; c < n; c++) {
    w[0] = c;
    w[1] = c ^ MAGIC;
    const t0 = performance.now();
    ping.send(buf, WAIT);
    const m = pong.recv(WAIT);
    record(h, performance.now() - t0);
    checkEcho(m, c);
  }
}

async function pingPongAsync(
  ping: Channel<Uint8Array>,
  pong: Channel<Uint8Array>,
  n: number,
  h: hdr.Histogram,
): Promise<void> {
  const buf = new Uint8Array(SMALL);
  const w = new Int32Array(buf.buffer, 0, 2);
  for (let c = 0; c < n; c++) {
    w[0] = c;
    w[1] = c ^ MAGIC;
    const t0 = performance.now();
    await ping.sendAsync(buf, WAIT);
    const m = await pong.recvAsync(WAIT);
    record(h, performance.now() - t0);
    checkEcho(m, c);
  }
}

function pingPongPost(wk: BenchWorker, n: number, h: hdr.Histogram): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const buf = new Uint8Array(SMALL);
    const w = new Int32Array(buf.buffer, 0, 2);
    let c = 0;
    let t0 = 0;
    const fail = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const send = (): void => {
      w[0] = c;
      w[1] = c ^ MAGIC;
      t0 = performance.now();
      wk.w.postMessage(buf);
    };
    const onMessage = (m: Uint8Array): void => {
      record(h, performance.now() - t0);
      try {
        checkEcho(m, c);
      } catch (e) {
        fail(e as Error);
        return;
      }
      if (++c === n) {
        cleanup();
        resolve();
      } else send();
    };
    const onError = (e: Error): void => fail(e);
    const timer = setTimeout(
      () => fail(new Error(`postMessage ping-pong: ${c} of ${n} round trips after ${2 * WAIT_MS} ms`)),
      2 * WAIT_MS,
    );
    const cleanup = (): void => {
      clearTimeout(timer);
      wk.w.off('message', onMessage);
      wk.w.off('error', onError);
    };
    wk.w.on('message', onMessage);
    wk.w.on('error', onError);
    send();
  });
}

async function rttRound(wk: BenchWorker, k: RttBackend, warm: boolean): Promise<RttRun> {
  const n = scaled(N_RTT, warm);
  const ctl = newCtl();
  const h = newHistogram();
  if (k === 'postMessage') {
    wk.post({ kind: 'pp-post', ctl, n });
    waitAtLeast(ctl, READY, 1, 'get ready');
    await pingPongPost(wk, n, h);
  } else {
    const ping = new Channel<Uint8Array>({ capacity: 4096 });
    const pong = new Channel<Uint8Array>({ capacity: 4096 });
    wk.post({ kind: 'pp-channel', ctl, ping: ping.handle, pong: pong.handle, n });
    waitAtLeast(ctl, READY, 1, 'get ready');
    if (k === 'channel blocking') pingPongBlocking(ping, pong, n, h);
    else await pingPongAsync(ping, pong, n, h);
  }
  wk.done(ctl);
  if (h.totalCount !== n) throw new Error(`${k}: ${h.totalCount} round trips recorded, expected ${n}`);
  const us = (p: number): number => h.getValueAtPercentile(p) / 1000;
  return {
    n,
    p50us: us(50),
    p99us: us(99),
    p999us: us(99.9),
    maxUs: h.maxValue / 1000,
    meanUs: h.mean / 1000,
    histogram: h,
  };
}

// ---------------------------------------------------------------------------------------------
// 5. RingBuffer vs ringbuf.js. Two consumers so that each call site stays monomorphic.

type RbBackend = 'RingBuffer' | 'ringbuf.js';

function popShmkit(rb: RingBuffer, n: number): number {
  const out = new Float32Array(CHUNK);
  const deadline = performance.now() + WAIT_MS;
  let sum = 0;
  for (let base = 0; base < n; base += CHUNK) {
    let got = 0;
    let s = 0;
    while (got < CHUNK) {
      const r = rb.pop(out, CHUNK - got, got);
      if (r === 0 && (++s & 0xffff) === 0) late(deadline, 'RingBuffer empty');
      got += r;
    }
    if (out[0] !== (base & 0xffff)) throw new Error(`RingBuffer: chunk at ${base} starts with ${out[0]}`);
    for (let k = 0; k < CHUNK; k++) sum += out[k]!;
  }
  return sum;
}

function popRingbufJs(rb: RingBufJs, n: number): number {
  const out = new Float32Array(CHUNK);
  const deadline = performance.now() + WAIT_MS;
  let sum = 0;
  for (let base = 0; base < n; base += CHUNK) {
    let got = 0;
    let s = 0;
    while (got < CHUNK) {
      const r = rb.pop(out, CHUNK - got, got);
      if (r === 0 && (++s & 0xffff) === 0) late(deadline, 'ringbuf.js empty');
      got += r;
    }
    if (out[0] !== (base & 0xffff)) throw new Error(`ringbuf.js: chunk at ${base} starts with ${out[0]}`);
    for (let k = 0; k < CHUNK; k++) sum += out[k]!;
  }
  return sum;
}

function expectedSampleSum(n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += k & 0xffff;
  return s;
}

function rbRound(wk: BenchWorker, k: RbBackend, warm: boolean): Run {
  const n = scaled(N_SAMPLES, warm, CHUNK);
  const ctl = newCtl();
  let sum = 0;
  let run: Run;
  if (k === 'RingBuffer') {
    const sab = RingBuffer.getStorageForCapacity(RB_CAPACITY, Float32Array);
    const rb = new RingBuffer(sab, Float32Array);
    if (rb.capacity() !== RB_CAPACITY) throw new Error('RingBuffer capacity');
    wk.post({ kind: 'rb-shmkit', ctl, sab, n, chunk: CHUNK });
    run = timedBlocking(ctl, n, () => {
      sum = popShmkit(rb, n);
    });
  } else {
    const sab = RingBufJs.getStorageForCapacity(RB_CAPACITY, Float32Array);
    const rb = new RingBufJs(sab, Float32Array);
    if (rb.capacity() !== RB_CAPACITY) throw new Error('ringbuf.js capacity');
    wk.post({ kind: 'rb-ringbufjs', ctl, sab, n, chunk: CHUNK });
    run = timedBlocking(ctl, n, () => {
      sum = popRingbufJs(rb, n);
    });
  }
  wk.done(ctl);
  verifySum(k, sum, expectedSampleSum(n));
  return run;
}

// ---------------------------------------------------------------------------------------------
// Reporting.

interface Throughput {
  backend: string;
  /** Median messages (or samples) per second. */
  perSec: number;
  /** Median payload MB/s (10^6 bytes). */
  mbPerSec: number;
  /** Median process CPU µs per message, both threads together. */
  cpuUsPerMsg: number;
  /** Every timed run. */
  runs: Run[];
}

function throughput(backend: string, runs: Run[], bytesPerMsg: number): Throughput {
  const perSec = median(runs.map((r) => (r.n * 1000) / r.ms));
  return {
    backend,
    perSec,
    mbPerSec: (perSec * bytesPerMsg) / 1e6,
    cpuUsPerMsg: median(runs.map((r) => (r.cpuMs * 1000) / r.n)),
    runs,
  };
}

interface Target {
  scenario: string;
  ratio: string;
  /** The ratio of the medians. */
  value: number;
  /** The same ratio within each rep (A and B of rep r ran back to back): the spread shows the noise. */
  perRep: number[];
  /** 'min': value >= target; 'max': value <= target. */
  kind: 'min' | 'max';
  target: number;
  met: boolean;
}

const targets: Target[] = [];

function target(
  scenario: string,
  ratio: string,
  value: number,
  perRep: number[],
  kind: 'min' | 'max',
  goal: number,
): Target {
  const met = kind === 'min' ? value >= goal : value <= goal;
  const t = { scenario, ratio, value, perRep, kind, target: goal, met };
  targets.push(t);
  return t;
}

/** Per-rep ratios of two throughputs (rate of a / rate of b). */
function rateRatios(a: Throughput, b: Throughput): number[] {
  return a.runs.map((r, i) => {
    const o = b.runs[i]!;
    return (r.n / r.ms) * (o.ms / o.n);
  });
}

function printTargets(ts: Target[]): void {
  console.table(
    ts.map((t) => ({
      ratio: t.ratio,
      value: `${fmt(t.value, 2)}x`,
      'reps min..max': `${fmt(Math.min(...t.perRep), 2)}..${fmt(Math.max(...t.perRep), 2)}x`,
      target: `${t.kind === 'min' ? '>=' : '<='} ${fmt(t.target, 2)}x`,
      met: t.met ? 'yes' : 'NO',
    })),
  );
}

function printThroughput(rows: Throughput[], unit: string, mbUnit: 'MB/s' | 'GB/s'): void {
  const scale = mbUnit === 'GB/s' ? 1000 : 1;
  console.table(
    rows.map((r) => ({
      backend: r.backend,
      [`${unit}/s`]: fmt(r.perSec, 0),
      [mbUnit]: fmt(r.mbPerSec / scale, mbUnit === 'GB/s' ? 2 : 1),
      'CPU µs/msg': fmt(r.cpuUsPerMsg, 3),
    })),
  );
}

// ---------------------------------------------------------------------------------------------

async function scenario1(wk: BenchWorker) {
  const s = await alternate<SmallBackend, Run>(['channel', 'postMessage', 'ring'], (k, warm) =>
    smallRound(wk, k, warm),
  );
  const rows = [
    throughput('Channel (bytes, recv)', s.channel, SMALL),
    throughput('postMessage (clone)', s.postMessage, SMALL),
    throughput('minimal SAB ring', s.ring, SMALL),
  ] as const;
  console.log(`1. throughput, ${N_BYTES.toLocaleString('en-US')} x 64-byte Uint8Array, worker -> main`);
  printThroughput([...rows], 'msgs', 'MB/s');
  printTargets([
    target(
      '1',
      'Channel / postMessage (msgs/s)',
      rows[0].perSec / rows[1].perSec,
      rateRatios(rows[0], rows[1]),
      'min',
      20,
    ),
    target(
      '1',
      'Channel / minimal ring (msgs/s)',
      rows[0].perSec / rows[2].perSec,
      rateRatios(rows[0], rows[2]),
      'min',
      0.5,
    ),
  ]);
  console.log(
    `   (info) the JavaScript limit: minimal ring / postMessage = ${fmt(rows[2].perSec / rows[1].perSec, 2)}x`,
  );
  return rows;
}

async function scenario2(wk: BenchWorker) {
  const s = await alternate<ObjBackend, Run>(['channel', 'postMessage'], (k, warm) => objRound(wk, k, warm));
  const bytes = msgpackSize();
  const rows = [
    throughput('Channel (msgpack)', s.channel, bytes),
    throughput('postMessage (clone)', s.postMessage, bytes),
  ] as const;
  console.log(
    `2. throughput, ${N_OBJECTS.toLocaleString('en-US')} objects {id, name, tags[4], score, ts} ` +
      `(${bytes} bytes as msgpack), worker -> main`,
  );
  printThroughput([...rows], 'msgs', 'MB/s');
  printTargets([
    target(
      '2',
      'Channel msgpack / postMessage (msgs/s)',
      rows[0].perSec / rows[1].perSec,
      rateRatios(rows[0], rows[1]),
      'min',
      3,
    ),
  ]);
  return { msgpackBytes: bytes, rows };
}

async function scenario3(wk: BenchWorker) {
  const s = await alternate<BigBackend, Run>(
    ['channel zero-copy', 'postMessage transfer', 'channel copy'],
    (k, warm) => bigRound(wk, k, warm),
  );
  const rows = [
    throughput('Channel claim/publish, peek/release', s['channel zero-copy'], BIG),
    throughput('postMessage transfer (fresh buffer)', s['postMessage transfer'], BIG),
    throughput('Channel send/recv (copies; info)', s['channel copy'], BIG),
  ] as const;
  console.log(
    `3. throughput, ${N_BIG.toLocaleString('en-US')} x 1 MiB payloads (each filled completely), worker -> main`,
  );
  printThroughput([...rows], 'msgs', 'GB/s');
  printTargets([
    target(
      '3',
      'Channel zero-copy / postMessage transfer (msgs/s)',
      rows[0].perSec / rows[1].perSec,
      rateRatios(rows[0], rows[1]),
      'min',
      1,
    ),
  ]);
  console.log(`   (info) Channel copy / postMessage transfer: ${fmt(rows[2].perSec / rows[1].perSec, 2)}x`);
  return rows;
}

async function scenario4(wk: BenchWorker) {
  const s = await alternate<RttBackend, RttRun>(
    ['channel blocking', 'channel async', 'postMessage'],
    (k, warm) => rttRound(wk, k, warm),
  );
  const summary = (backend: string, k: RttBackend) => {
    const runs = s[k];
    const merged = newHistogram();
    for (const r of runs) merged.add(r.histogram);
    return {
      backend,
      p50us: median(runs.map((r) => r.p50us)),
      p99us: median(runs.map((r) => r.p99us)),
      p999us: median(runs.map((r) => r.p999us)),
      allRuns: {
        count: merged.totalCount,
        p50us: merged.getValueAtPercentile(50) / 1000,
        p99us: merged.getValueAtPercentile(99) / 1000,
        p999us: merged.getValueAtPercentile(99.9) / 1000,
        maxUs: merged.maxValue / 1000,
        meanUs: merged.mean / 1000,
      },
      runs: runs.map(({ histogram: _, ...rest }) => rest),
    };
  };
  const p50Ratios = (a: number, b: number): number[] =>
    rows[a]!.runs.map((r, i) => r.p50us / rows[b]!.runs[i]!.p50us);
  const rows = [
    summary('Channel, main blocking send/recv', 'channel blocking'),
    summary('Channel, main sendAsync/recvAsync', 'channel async'),
    summary('postMessage both ways', 'postMessage'),
  ] as const;
  console.log(
    `4. round-trip latency, ${N_RTT.toLocaleString('en-US')} x 64-byte ping-pong per run, main <-> worker ` +
      `(hdr-histogram-js; medians of the runs' percentiles)`,
  );
  console.table(
    rows.map((r) => ({
      backend: r.backend,
      'p50 µs': fmt(r.p50us, 2),
      'p99 µs': fmt(r.p99us, 2),
      'p99.9 µs': fmt(r.p999us, 2),
      'max µs (all runs)': fmt(r.allRuns.maxUs, 0),
    })),
  );
  printTargets([
    target(
      '4',
      'Channel blocking / postMessage (p50)',
      rows[0].p50us / rows[2].p50us,
      p50Ratios(0, 2),
      'max',
      1 / 3,
    ),
    target(
      '4',
      'Channel async / postMessage (p50)',
      rows[1].p50us / rows[2].p50us,
      p50Ratios(1, 2),
      'max',
      1 / 2,
    ),
  ]);
  console.log(
    `   (info) p99 ratios: blocking ${fmt(rows[0].p99us / rows[2].p99us, 2)}x, ` +
      `async ${fmt(rows[1].p99us / rows[2].p99us, 2)}x`,
  );
  return rows;
}

async function scenario5(wk: BenchWorker) {
  const s = await alternate<RbBackend, Run>(['RingBuffer', 'ringbuf.js'], (k, warm) => rbRound(wk, k, warm));
  const rows = [
    throughput('@shmkit/channel RingBuffer', s.RingBuffer, 4),
    throughput('ringbuf.js 0.4.0', s['ringbuf.js'], 4),
  ] as const;
  console.log(
    `5. RingBuffer, ${(N_SAMPLES / 2 ** 20).toLocaleString('en-US')} Mi Float32 samples, worker pushes / ` +
      `main pops chunks of ${CHUNK}, capacity ${RB_CAPACITY} samples`,
  );
  console.table(
    rows.map((r) => ({
      backend: r.backend,
      'samples/s': fmt(r.perSec, 0),
      'MB/s': fmt(r.mbPerSec, 1),
      'CPU µs/chunk': fmt(r.cpuUsPerMsg * CHUNK, 3),
    })),
  );
  printTargets([
    target(
      '5',
      'RingBuffer / ringbuf.js (samples/s)',
      rows[0].perSec / rows[1].perSec,
      rateRatios(rows[0], rows[1]),
      'min',
      1,
    ),
  ]);
  return rows;
}

/** Fraction of the machine's CPU time that other processes used during `ms` (this one is idle). */
async function busyElsewhere(ms: number): Promise<number> {
  const sample = (): { idle: number; total: number } => {
    let idle = 0;
    let total = 0;
    for (const c of os.cpus()) {
      idle += c.times.idle;
      total += c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    }
    return { idle, total };
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    /** CPU busy with other processes in the 500 ms before the run (this process idle). */
    busyElsewhereAtStart: Math.round((await busyElsewhere(500)) * 1000) / 1000,
  };
  console.log(`shmkit channel benchmark${QUICK ? ' (--quick)' : ''}`);
  console.log(
    `machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.kernel} ${machine.arch}`,
  );
  console.log(
    `other processes at start: ${fmt(machine.busyElsewhereAtStart * 100, 0)}% of the CPU time ` +
      `(load average ${machine.loadAverageAtStart.map((x) => fmt(x, 2)).join(' ')})`,
  );
  if (machine.busyElsewhereAtStart > 0.1) {
    console.log(
      `  warning: other processes are busy on this machine; spinning backends lose most when the two ` +
        `threads of a pair cannot both run, so compare ratios only with a quiet machine`,
    );
  }
  console.log(`median of ${REPS} reps after a warm-up, backends alternating; every message verified\n`);
  const t0 = performance.now();

  const wk = new BenchWorker();
  try {
    await wk.ready();
    const results: Record<string, unknown> = {};
    const scenarios: [number, string, (wk: BenchWorker) => Promise<unknown>][] = [
      [1, 'smallBytes', scenario1],
      [2, 'objects', scenario2],
      [3, 'bigPayloads', scenario3],
      [4, 'roundTrip', scenario4],
      [5, 'ringBuffer', scenario5],
    ];
    for (const [id, name, run] of scenarios) {
      if (!ONLY.has(id)) continue;
      results[name] = await run(wk);
      console.log();
    }

    const seconds = (performance.now() - t0) / 1000;
    const met = targets.filter((t) => t.met).length;
    console.log(`summary: ${met} of ${targets.length} targets met; total ${fmt(seconds)} s`);
    for (const t of targets.filter((x) => !x.met)) {
      console.log(
        `  missed: ${t.ratio} = ${fmt(t.value, 2)}x (target ${t.kind === 'min' ? '>=' : '<='} ${fmt(t.target, 2)}x)`,
      );
    }

    const report = {
      schema: 'shmkit-bench-channel/1',
      date: new Date().toISOString(),
      quick: QUICK,
      scenarios: [...ONLY],
      machine,
      params: {
        reps: REPS,
        warmFraction: WARM_FRACTION,
        smallMessages: N_BYTES,
        smallBytes: SMALL,
        smallCapacity: SMALL_CAPACITY,
        smallWindow: SMALL_WINDOW,
        objects: N_OBJECTS,
        objectWindow: OBJECT_WINDOW,
        bigMessages: N_BIG,
        bigBytes: BIG,
        bigCapacity: BIG_CAPACITY,
        bigWindow: BIG_WINDOW,
        roundTrips: N_RTT,
        histogram: 'hdr-histogram-js, ns, 3 significant digits',
        samples: N_SAMPLES,
        chunk: CHUNK,
        ringBufferCapacity: RB_CAPACITY,
      },
      results,
      targets,
      loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
      seconds,
    };
    console.log(`results written to ${writeResult('channel.json', `${JSON.stringify(report, null, 2)}\n`)}`);
  } finally {
    await wk.w.terminate();
  }
}

/** Encoded size of a typical benchmark object with the msgpack codec (what one frame carries). */
function msgpackSize(): number {
  const ch = new Channel<Obj>({ capacity: 4096, codec: 'msgpack' });
  const o: Obj = {
    id: 123_456,
    name: 'sensor-north-456',
    tags: ['alpha', 'beta', 'gamma', 'delta'],
    score: 123_456 * 0.25,
    ts: TS0 + 123_456,
  };
  ch.send(o);
  const v = ch.peek();
  const n = v.length;
  ch.release();
  return n;
}

await main();
