/**
 * The worker of benchmarks/channel.ts: the producing side of every scenario. Jobs arrive by
 * message; READY / DONE / ERR go back through the round's control words (channel-protocol.ts),
 * because the main thread may be blocked in a wait when the worker finishes or fails.
 */
import { parentPort } from 'node:worker_threads';
import { Channel, type ChannelHandle, RingBuffer } from '@shmkit/channel';
import { RingBuffer as RingBufJs } from 'ringbuf.js';
import {
  ACK,
  DONE,
  ERR,
  ERR_TEXT,
  ERR_TEXT_MAX,
  GO,
  MAGIC,
  READY,
  RING_DATA,
  RING_HEAD,
  RING_TAIL,
  TS0,
  WAIT_MS,
} from './channel-protocol.js';

const T = WAIT_MS;
const WAIT = { timeout: T };
const port = parentPort!;

/** A job of the main thread (benchmarks/channel.ts); which fields are set depends on `kind`. */
interface Job {
  kind: string;
  ctl: Int32Array;
  n: number;
  size: number;
  window: number;
  slots: number;
  chunk: number;
  sab: SharedArrayBuffer;
  handle: ChannelHandle;
  ping: ChannelHandle;
  pong: ChannelHandle;
}

function go(ctl: Int32Array): void {
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  const deadline = performance.now() + T;
  let s = 0;
  while (Atomics.load(ctl, GO) === 0) {
    if ((++s & 0xffff) === 0 && performance.now() > deadline) throw new Error('worker: no GO in time');
  }
}
function finish(ctl: Int32Array): void {
  Atomics.store(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
}
function late(deadline: number, what: string): void {
  if (performance.now() > deadline) throw new Error(`worker: ${what} for ${T} ms`);
}
function payload(size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let k = 8; k < size; k++) p[k] = k & 255;
  return p;
}

// ---- 1: 64-byte messages ----
function bytesChannel(ch: Channel, n: number, size: number): void {
  const p = payload(size);
  const w = new Int32Array(p.buffer, 0, 2);
  for (let i = 0; i < n; i++) {
    w[0] = i;
    w[1] = i ^ MAGIC;
    ch.send(p, WAIT);
  }
}
function bytesPost(ctl: Int32Array, n: number, size: number, win: number): void {
  const p = payload(size);
  const w = new Int32Array(p.buffer, 0, 2);
  const deadline = performance.now() + T;
  let acked = 0;
  for (let i = 0; i < n; i++) {
    if (i - acked >= win) {
      let s = 0;
      for (;;) {
        acked = Atomics.load(ctl, ACK);
        if (i - acked < win) break;
        if ((++s & 0xffff) === 0) late(deadline, 'postMessage window full');
      }
    }
    w[0] = i;
    w[1] = i ^ MAGIC;
    port.postMessage(p);
  }
}
function bytesRing(sab: SharedArrayBuffer, n: number, size: number, slots: number): void {
  const i32 = new Int32Array(sab, 0, RING_DATA / 4);
  const u8 = new Uint8Array(sab, RING_DATA, slots * size);
  const mask = slots - 1;
  const p = payload(size);
  const w = new Int32Array(p.buffer, 0, 2);
  const deadline = performance.now() + T;
  let tail = 0;
  let head = 0;
  for (let i = 0; i < n; i++) {
    w[0] = i;
    w[1] = i ^ MAGIC;
    if (tail - head === slots) {
      let s = 0;
      for (;;) {
        // acquire: pairs with the consumer's store of head; the slots before it are free.
        head = Atomics.load(i32, RING_HEAD);
        if (tail - head !== slots) break;
        if ((++s & 0xffff) === 0) late(deadline, 'ring full');
      }
    }
    u8.set(p, (tail & mask) * size);
    tail++;
    Atomics.store(i32, RING_TAIL, tail);
  }
}

// ---- 2: objects ----
function obj(i: number): object {
  return {
    id: i,
    name: `sensor-north-${i % 1000}`,
    tags: ['alpha', 'beta', 'gamma', 'delta'],
    score: i * 0.25,
    ts: TS0 + i,
  };
}
function objChannel(ch: Channel<object>, n: number): void {
  for (let i = 0; i < n; i++) ch.send(obj(i), WAIT);
}
function objPost(ctl: Int32Array, n: number, win: number): void {
  const deadline = performance.now() + T;
  let acked = 0;
  for (let i = 0; i < n; i++) {
    if (i - acked >= win) {
      let s = 0;
      for (;;) {
        acked = Atomics.load(ctl, ACK);
        if (i - acked < win) break;
        if ((++s & 0xffff) === 0) late(deadline, 'postMessage window full');
      }
    }
    port.postMessage(obj(i));
  }
}

// ---- 3: 1 MiB payloads, filled completely; first word i, last word i ^ MAGIC ----
function bigClaim(ch: Channel, n: number, size: number): void {
  const words = size >> 2;
  for (let i = 0; i < n; i++) {
    const v = ch.claim(size, WAIT);
    const u = new Int32Array(v.buffer, v.byteOffset, words);
    u.fill(i);
    u[words - 1] = i ^ MAGIC;
    ch.publish();
  }
}
function bigPost(ctl: Int32Array, n: number, size: number, win: number): void {
  const words = size >> 2;
  const deadline = performance.now() + T;
  let acked = 0;
  for (let i = 0; i < n; i++) {
    if (i - acked >= win) {
      let s = 0;
      for (;;) {
        acked = Atomics.load(ctl, ACK);
        if (i - acked < win) break;
        if ((++s & 0xffff) === 0) late(deadline, 'postMessage window full');
      }
    }
    const ab = new ArrayBuffer(size);
    const u = new Int32Array(ab);
    u.fill(i);
    u[words - 1] = i ^ MAGIC;
    port.postMessage(ab, [ab]);
  }
}
function bigCopy(ch: Channel, n: number, size: number): void {
  const words = size >> 2;
  const b = new Uint8Array(size);
  const u = new Int32Array(b.buffer);
  for (let i = 0; i < n; i++) {
    u.fill(i);
    u[words - 1] = i ^ MAGIC;
    ch.send(b, WAIT);
  }
}

// ---- 4: ping-pong; the worker always blocks ----
function pingPong(ping: Channel, pong: Channel, n: number): void {
  for (let i = 0; i < n; i++) pong.send(ping.recv(WAIT), WAIT);
}

// ---- 5: RingBuffer / ringbuf.js producers; two copies so that each call site stays monomorphic ----
function rbShmkit(rb: RingBuffer, n: number, chunk: number): void {
  const c = new Float32Array(chunk);
  const deadline = performance.now() + T;
  for (let base = 0; base < n; base += chunk) {
    for (let k = 0; k < chunk; k++) c[k] = (base + k) & 0xffff;
    let off = 0;
    let s = 0;
    while (off < chunk) {
      const w = rb.push(c, chunk - off, off);
      if (w === 0 && (++s & 0xffff) === 0) late(deadline, 'RingBuffer full');
      off += w;
    }
  }
}
function rbRingbufJs(rb: RingBufJs, n: number, chunk: number): void {
  const c = new Float32Array(chunk);
  const deadline = performance.now() + T;
  for (let base = 0; base < n; base += chunk) {
    for (let k = 0; k < chunk; k++) c[k] = (base + k) & 0xffff;
    let off = 0;
    let s = 0;
    while (off < chunk) {
      const w = rb.push(c, chunk - off, off);
      if (w === 0 && (++s & 0xffff) === 0) late(deadline, 'ringbuf.js full');
      off += w;
    }
  }
}

let echoLeft = 0;
let echoCtl: Int32Array | null = null;
port.on('message', (msg: Job | Uint8Array) => {
  if (echoLeft > 0 && msg instanceof Uint8Array) {
    port.postMessage(msg);
    if (--echoLeft === 0) finish(echoCtl!);
    return;
  }
  const job = msg as Job;
  const ctl = job.ctl;
  try {
    switch (job.kind) {
      case 'bytes-channel': {
        const ch = Channel.from(job.handle);
        go(ctl);
        bytesChannel(ch, job.n, job.size);
        break;
      }
      case 'bytes-post':
        go(ctl);
        bytesPost(ctl, job.n, job.size, job.window);
        break;
      case 'bytes-ring':
        go(ctl);
        bytesRing(job.sab, job.n, job.size, job.slots);
        break;
      case 'obj-channel': {
        const ch = Channel.from(job.handle);
        go(ctl);
        objChannel(ch, job.n);
        break;
      }
      case 'obj-post':
        go(ctl);
        objPost(ctl, job.n, job.window);
        break;
      case 'big-claim': {
        const ch = Channel.from(job.handle);
        go(ctl);
        bigClaim(ch, job.n, job.size);
        break;
      }
      case 'big-post':
        go(ctl);
        bigPost(ctl, job.n, job.size, job.window);
        break;
      case 'big-copy': {
        const ch = Channel.from(job.handle);
        go(ctl);
        bigCopy(ch, job.n, job.size);
        break;
      }
      case 'pp-channel': {
        const ping = Channel.from(job.ping);
        const pong = Channel.from(job.pong);
        Atomics.add(ctl, READY, 1);
        Atomics.notify(ctl, READY);
        pingPong(ping, pong, job.n);
        break;
      }
      case 'pp-post':
        echoLeft = job.n;
        echoCtl = ctl;
        Atomics.add(ctl, READY, 1);
        Atomics.notify(ctl, READY);
        return;
      case 'rb-shmkit':
        go(ctl);
        rbShmkit(new RingBuffer(job.sab, Float32Array), job.n, job.chunk);
        break;
      case 'rb-ringbufjs':
        go(ctl);
        rbRingbufJs(new RingBufJs(job.sab, Float32Array), job.n, job.chunk);
        break;
      default:
        throw new Error(`worker: unknown job ${job.kind}`);
    }
    finish(ctl);
  } catch (e) {
    // The main thread may be blocked in a wait: leave the reason where it can read it.
    const text = new TextEncoder()
      .encode(String((e as Error | undefined)?.stack ?? e))
      .subarray(0, ERR_TEXT_MAX);
    new Uint8Array(ctl.buffer, ERR_TEXT, ERR_TEXT_MAX).set(text);
    Atomics.store(ctl, ERR + 1, text.length);
    Atomics.store(ctl, ERR, 1);
    finish(ctl);
    throw e;
  }
});
port.postMessage('ready');
