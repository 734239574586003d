/**
 * The worker of benchmarks/channel.ts: the producing side of every scenario (the echoing side of
 * the round trips). Jobs arrive by message; READY / DONE / errors go back through the round's
 * control block (lib/control.ts), because the main thread may be blocked in a wait when the
 * worker finishes or fails.
 */
import { parentPort } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { ACK, finish, GO, late, READY, reportError, signal, spinFor } from '../lib/control.js';
import { fillBig, makeObj, payload, stamp } from './messages.js';
import { type Job, RING_DATA, RING_HEAD, RING_TAIL, WAIT, WAIT_MS } from './protocol.js';

const port = parentPort!;

/** Ready, then spin until the main thread says GO (so both start together). */
function go(ctl: Int32Array): void {
  signal(ctl, READY);
  spinFor(ctl, GO, WAIT_MS);
}

/** postMessage rounds: spins while `window` messages are in flight (not yet acknowledged in ACK). */
function awaitWindow(ctl: Int32Array, i: number, acked: number, window: number, deadline: number): number {
  let s = 0;
  while (i - acked >= window) {
    // acquire: pairs with the main thread's store of ACK.
    acked = Atomics.load(ctl, ACK);
    if ((++s & 0xffff) === 0) late(deadline, 'postMessage window full');
  }
  return acked;
}

// ---- 1: 64-byte messages ----
function bytesChannel(ch: Channel, n: number, size: number): void {
  const p = payload(size);
  const w = new Int32Array(p.buffer, 0, 2);
  for (let i = 0; i < n; i++) {
    stamp(w, i);
    ch.send(p, WAIT);
  }
}
function bytesPost(ctl: Int32Array, n: number, size: number, window: number): void {
  const p = payload(size);
  const w = new Int32Array(p.buffer, 0, 2);
  const deadline = performance.now() + WAIT_MS;
  let acked = 0;
  for (let i = 0; i < n; i++) {
    acked = awaitWindow(ctl, i, acked, window, deadline);
    stamp(w, i);
    port.postMessage(p);
  }
}
function bytesRing(sab: SharedArrayBuffer, n: number, size: number, slots: number): void {
  const i32 = new Int32Array(sab, 0, RING_DATA / 4);
  const u8 = new Uint8Array(sab, RING_DATA, slots * size);
  const mask = slots - 1;
  const p = payload(size);
  const w = new Int32Array(p.buffer, 0, 2);
  const deadline = performance.now() + WAIT_MS;
  let tail = 0;
  let head = 0;
  for (let i = 0; i < n; i++) {
    stamp(w, i);
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
    // release: the slot written above is visible to the consumer's load of tail.
    Atomics.store(i32, RING_TAIL, tail);
  }
}

// ---- 2: objects ----
function objChannel(ch: Channel<object>, n: number): void {
  for (let i = 0; i < n; i++) ch.send(makeObj(i), WAIT);
}
function objPost(ctl: Int32Array, n: number, window: number): void {
  const deadline = performance.now() + WAIT_MS;
  let acked = 0;
  for (let i = 0; i < n; i++) {
    acked = awaitWindow(ctl, i, acked, window, deadline);
    port.postMessage(makeObj(i));
  }
}

// ---- 3: 1 MiB payloads, filled completely ----
function bigClaim(ch: Channel, n: number, size: number): void {
  for (let i = 0; i < n; i++) {
    const v = ch.claim(size, WAIT);
    fillBig(new Int32Array(v.buffer, v.byteOffset, size >> 2), i);
    ch.publish();
  }
}
function bigPost(ctl: Int32Array, n: number, size: number, window: number): void {
  const deadline = performance.now() + WAIT_MS;
  let acked = 0;
  for (let i = 0; i < n; i++) {
    acked = awaitWindow(ctl, i, acked, window, deadline);
    const ab = new ArrayBuffer(size);
    fillBig(new Int32Array(ab), i);
    port.postMessage(ab, [ab]);
  }
}
function bigCopy(ch: Channel, n: number, size: number): void {
  const b = new Uint8Array(size);
  const u = new Int32Array(b.buffer);
  for (let i = 0; i < n; i++) {
    fillBig(u, i);
    ch.send(b, WAIT);
  }
}

// ---- 4: ping-pong; the worker always blocks ----
function pingPong(ping: Channel, pong: Channel, n: number): void {
  for (let i = 0; i < n; i++) pong.send(ping.recv(WAIT), WAIT);
}

/** Runs one job; returns false when the job goes on after this call (the postMessage echo). */
function run(job: Job): boolean {
  const ctl = job.ctl;
  switch (job.kind) {
    case 'bytes-channel':
    case 'big-claim':
    case 'big-copy': {
      const ch = Channel.from(job.handle);
      go(ctl);
      if (job.kind === 'bytes-channel') bytesChannel(ch, job.n, job.size);
      else if (job.kind === 'big-claim') bigClaim(ch, job.n, job.size);
      else bigCopy(ch, job.n, job.size);
      return true;
    }
    case 'bytes-post':
    case 'big-post':
      go(ctl);
      if (job.kind === 'bytes-post') bytesPost(ctl, job.n, job.size, job.window);
      else bigPost(ctl, job.n, job.size, job.window);
      return true;
    case 'bytes-ring':
      go(ctl);
      bytesRing(job.sab, job.n, job.size, job.slots);
      return true;
    case 'obj-channel': {
      const ch = Channel.from<object>(job.handle);
      go(ctl);
      objChannel(ch, job.n);
      return true;
    }
    case 'obj-post':
      go(ctl);
      objPost(ctl, job.n, job.window);
      return true;
    case 'pp-channel': {
      const ping = Channel.from(job.ping);
      const pong = Channel.from(job.pong);
      signal(ctl, READY);
      pingPong(ping, pong, job.n);
      return true;
    }
    case 'pp-post':
      echoLeft = job.n;
      echoCtl = ctl;
      signal(ctl, READY);
      return false;
    default:
      throw new Error(`worker: unknown job ${(job as { kind: string }).kind}`);
  }
}

// The postMessage round trips: echo the next `echoLeft` data messages.
let echoLeft = 0;
let echoCtl: Int32Array | null = null;

port.on('message', (msg: Job | Uint8Array) => {
  if (echoLeft > 0 && msg instanceof Uint8Array) {
    port.postMessage(msg);
    if (--echoLeft === 0) finish(echoCtl!);
    return;
  }
  const job = msg as Job;
  try {
    if (run(job)) finish(job.ctl);
  } catch (e) {
    reportError(job.ctl, e);
    finish(job.ctl);
    throw e;
  }
});
port.postMessage('ready');
