/**
 * Scenario 2 of benchmarks/struct.ts: a field update seen by another thread. Both sides run the
 * same function: the first side (the main thread) stores i and spins until the other's answer i
 * shows up; the second (the worker) spins until it sees i, then answers i. Three ways of writing
 * and watching the fields: a raw Float64Array store observed by Atomics.load of its high half
 * (the baseline), struct views (plain f64 accessors), and struct atomics on i32 fields.
 * Every spin is bounded by `deadline` (performance.now()).
 */
import { Ping, PingInt } from './order.js';

export type PingKind = 'raw' | 'view' | 'atomic';

function tooLate(deadline: number, kind: PingKind): void {
  if (performance.now() > deadline) throw new Error(`${kind} ping-pong: no answer in time`);
}

function raw(sab: SharedArrayBuffer, n: number, first: boolean, deadline: number): void {
  const f64 = new Float64Array(sab);
  const i32 = new Int32Array(sab);
  const probe = new Float64Array(1);
  const hi = new Int32Array(probe.buffer);
  const mine = first ? 0 : 16; // the f64 this side writes (Ping's ping / pong)
  const theirs = first ? 33 : 1; // the high word of the other side's f64 (integers < 2^20 differ in it)
  for (let i = 1; i <= n; i++) {
    probe[0] = i;
    const want = hi[1];
    if (first) f64[mine] = i;
    for (let k = 0; Atomics.load(i32, theirs) !== want; k++) if ((k & 0xffff) === 0) tooLate(deadline, 'raw');
    if (!first) f64[mine] = i;
  }
}

function view(sab: SharedArrayBuffer, n: number, first: boolean, deadline: number): void {
  const v = Ping.view(sab);
  for (let i = 1; i <= n; i++) {
    if (first) v.ping = i;
    for (let k = 0; (first ? v.pong : v.ping) !== i; k++) if ((k & 0xffff) === 0) tooLate(deadline, 'view');
    if (!first) v.pong = i;
  }
}

function atomic(sab: SharedArrayBuffer, n: number, first: boolean, deadline: number): void {
  const v = PingInt.view(sab);
  const mine = first ? 'ping' : 'pong';
  const theirs = first ? 'pong' : 'ping';
  for (let i = 1; i <= n; i++) {
    if (first) PingInt.atomic.store(v, mine, i);
    for (let k = 0; PingInt.atomic.load(v, theirs) !== i; k++)
      if ((k & 0xffff) === 0) tooLate(deadline, 'atomic');
    if (!first) PingInt.atomic.store(v, mine, i);
  }
}

/** n round trips of `kind` over `sab` (Math.max(Ping.byteLength, PingInt.byteLength) bytes). */
export const pingPong: Record<PingKind, typeof raw> = { raw, view, atomic };

export const PING_BYTES = Math.max(Ping.byteLength, PingInt.byteLength);
