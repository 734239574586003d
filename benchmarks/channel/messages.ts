/**
 * The messages of benchmarks/channel.ts: how its worker makes them and how the main thread checks
 * every one (the count, the order, a checksum), so that no backend can win by dropping or skipping
 * work. The producers do the same work for every backend: stamp a reused payload, build each
 * object, fill each 1 MiB payload completely.
 */
import { Channel } from '@shmkit/channel';
import { BIG, SMALL } from './protocol.js';

export const MAGIC = 0x5a5a5a5a;
export const TS0 = 1_700_000_000_000;

/** A 64-byte (or `size`-byte) payload; bytes 0-7 are stamped per message (see stamp). */
export function payload(size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let k = 8; k < size; k++) p[k] = k & 255;
  return p;
}

/** Stamps message i into `w` (the payload's first two words): sequence number, checksum word. */
export function stamp(w: Int32Array, i: number): void {
  w[0] = i;
  w[1] = i ^ MAGIC;
}

/** Checks a 64-byte message: sequence number c in bytes 0-3; returns bytes 4-7 for the checksum. */
export function checkSmall(m: Uint8Array, c: number): number {
  if (m.length !== SMALL) throw new Error(`message ${c}: ${m.length} bytes, expected ${SMALL}`);
  const seq = m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24);
  if (seq !== c) throw new Error(`message ${c}: sequence number ${seq} (lost, duplicated or reordered)`);
  return m[4]! | (m[5]! << 8) | (m[6]! << 16) | (m[7]! << 24);
}

/** The checksum of n 64-byte messages: the sum of bytes 4-7 read as int32. */
export function expectedSmallSum(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += i ^ MAGIC;
  return s;
}

/** Checks an echoed round trip c: the payload came back unchanged. */
export function checkEcho(m: Uint8Array, c: number): void {
  if (checkSmall(m, c) !== (c ^ MAGIC)) throw new Error(`round trip ${c}: payload changed`);
}

export function verifySum(what: string, got: number, expected: number): void {
  if (got !== expected) throw new Error(`${what}: checksum ${got}, expected ${expected}`);
}

/** The ~100-byte object of scenario 2. */
export interface Obj {
  id: number;
  name: string;
  tags: string[];
  score: number;
  ts: number;
}

/** Object i, built anew as an application would. */
export function makeObj(i: number): Obj {
  return {
    id: i,
    name: `sensor-north-${i % 1000}`,
    tags: ['alpha', 'beta', 'gamma', 'delta'],
    score: i * 0.25,
    ts: TS0 + i,
  };
}

/** Checks an object: id c (order), score and tags consistent; returns ts - TS0 for the checksum. */
export function checkObj(o: Obj, c: number): number {
  if (o.id !== c) throw new Error(`object ${c}: id ${o.id} (lost, duplicated or reordered)`);
  if (o.score !== c * 0.25 || o.tags.length !== 4 || o.name.length < 14) {
    throw new Error(`object ${c}: fields do not match ${JSON.stringify(o)}`);
  }
  return o.ts - TS0;
}

/** Encoded size of a typical object with the msgpack codec (what one frame carries). */
export function msgpackSize(): number {
  const ch = new Channel<Obj>({ capacity: 4096, codec: 'msgpack' });
  ch.send(makeObj(123_456));
  const n = ch.peek().length;
  ch.release();
  return n;
}

/** Fills a 1 MiB payload (as Int32 words) for message i: every word i, the last i ^ MAGIC. */
export function fillBig(u: Int32Array, i: number): void {
  u.fill(i);
  u[u.length - 1] = i ^ MAGIC;
}

/** Checks a 1 MiB payload through an Int32Array over it: first, middle and last words. */
export function checkBig(u: Int32Array, c: number): number {
  const last = u.length - 1;
  if (u.length !== BIG / 4) throw new Error(`payload ${c}: ${u.length * 4} bytes, expected ${BIG}`);
  const a = u[0]!;
  const b = u[last >> 1]!;
  const z = u[last]!;
  if (a !== c || b !== c || z !== (c ^ MAGIC)) throw new Error(`payload ${c}: words ${a} ${b} ${z}`);
  return a + b + z;
}

export function expectedBigSum(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += 2 * i + (i ^ MAGIC);
  return s;
}
