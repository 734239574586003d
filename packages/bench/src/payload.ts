/**
 * Payloads and their verification, shared by both sides of every backend (the peers import this
 * module from dist/).
 *
 * Bytes: message `i` of size `s` is a fixed pattern with `i` stamped (uint32, little endian) in its
 * first and last 4 bytes. Objects: message `i` is the envelope `{ seq: i, body: pool[i % POOL] }`,
 * where the pool is made once, outside the timed part, by the built-in generator or the user's
 * payload file, and handed to the peer before the run.
 *
 * The receiver checks every message: length, both stamps against the expected sequence number
 * (exactly once, in order), and a checksum; every SAMPLE-th message is also compared in full
 * (bytes) or by fingerprint (objects). A backend that drops, duplicates, reorders, truncates or
 * corrupts a message ends up `verified: false`.
 */
import { pathToFileURL } from 'node:url';
import { ShmkitError } from '@shmkit/core';

/** Minimum bytes size: room for the two stamps. */
export const MIN_SIZE = 8;
/** Maximum bytes size (64 MiB). */
export const MAX_SIZE = 64 << 20;
/** Distinct object bodies, cycled through. */
export const POOL = 16;
/** Every SAMPLE-th message is checked in full. */
export const SAMPLE = 16;

/** The deterministic fill of a bytes message of `size` bytes (before stamping). */
export function bytesTemplate(size: number): Uint8Array {
  const t = new Uint8Array(size);
  for (let j = 0; j < size; j++) t[j] = (j * 131 + 17) & 255;
  return t;
}

/** Writes sequence number `seq` into the first and last 4 bytes of `m`. Allocates nothing. */
export function stamp(m: Uint8Array, seq: number): void {
  const end = m.length - 4;
  m[0] = seq & 255;
  m[1] = (seq >>> 8) & 255;
  m[2] = (seq >>> 16) & 255;
  m[3] = (seq >>> 24) & 255;
  m[end] = seq & 255;
  m[end + 1] = (seq >>> 8) & 255;
  m[end + 2] = (seq >>> 16) & 255;
  m[end + 3] = (seq >>> 24) & 255;
}

function u32(m: Uint8Array, at: number): number {
  return (m[at]! | (m[at + 1]! << 8) | (m[at + 2]! << 16) | (m[at + 3]! << 24)) >>> 0;
}

/** The envelope every object message travels in. */
export interface Envelope {
  seq: number;
  body: unknown;
}

/**
 * Makes message `i` of a run: for bytes, stamps `scratch` (a copy of the template, reused: callers
 * whose transport keeps a reference must copy it); for objects, a new envelope around a pool entry.
 */
export class MessageMaker {
  readonly scratch: Uint8Array | undefined;
  constructor(
    readonly kind: 'bytes' | 'object',
    size: number,
    private readonly pool: readonly unknown[] = [],
  ) {
    this.scratch = kind === 'bytes' ? bytesTemplate(size) : undefined;
    if (kind === 'object' && pool.length === 0)
      throw new ShmkitError('INVALID_ARGUMENT', 'object payloads need a pool');
  }

  bytes(i: number): Uint8Array {
    const m = this.scratch!;
    stamp(m, i);
    return m;
  }

  object(i: number): Envelope {
    return { seq: i, body: this.pool[i % this.pool.length] };
  }

  make(i: number): Uint8Array | Envelope {
    return this.kind === 'bytes' ? this.bytes(i) : this.object(i);
  }
}

/** Checks the messages of one run as they arrive. Allocates nothing per message (but on samples). */
export class Verifier {
  count = 0;
  checksum = 0;
  bad = 0;
  firstProblem: string | undefined;
  private readonly template: Uint8Array | undefined;
  private readonly poolPrints: string[];

  constructor(
    readonly kind: 'bytes' | 'object',
    readonly size: number,
    pool: readonly unknown[] = [],
  ) {
    this.template = kind === 'bytes' ? bytesTemplate(size) : undefined;
    this.poolPrints = pool.map(fingerprint);
  }

  /** Accepts the next message (already decoded to a Uint8Array or an envelope). */
  accept(m: unknown): void {
    if (this.kind === 'bytes') this.acceptBytes(m);
    else this.acceptObject(m);
    this.count++;
  }

  private problem(what: string): void {
    this.bad++;
    this.firstProblem ??= `message ${this.count}: ${what}`;
  }

  private acceptBytes(m: unknown): void {
    if (!(m instanceof Uint8Array)) {
      this.problem(`expected bytes, got ${typeof m}`);
      return;
    }
    if (m.length !== this.size) {
      this.problem(`length ${m.length}, expected ${this.size}`);
      return;
    }
    const head = u32(m, 0);
    const tail = u32(m, m.length - 4);
    if (head !== this.count >>> 0 || tail !== head) {
      this.problem(`sequence stamps ${head}/${tail}, expected ${this.count}`);
      return;
    }
    this.checksum = (this.checksum + head + tail + m.length + m[m.length >> 1]!) >>> 0;
    if (this.count % SAMPLE === 0 && !sameBody(m, this.template!)) this.problem('content differs');
  }

  private acceptObject(m: unknown): void {
    if (typeof m !== 'object' || m === null) {
      this.problem(`expected an envelope, got ${typeof m}`);
      return;
    }
    const seq = (m as Envelope).seq;
    if (seq !== this.count) {
      this.problem(`sequence ${String(seq)}, expected ${this.count}`);
      return;
    }
    this.checksum = (this.checksum + seq) >>> 0;
    if (this.count % SAMPLE === 0) {
      const print = fingerprint((m as Envelope).body);
      if (print !== this.poolPrints[seq % this.poolPrints.length]) this.problem('object body differs');
      this.checksum = (this.checksum + hash(print)) >>> 0;
    }
  }

  /** The checksum `n` correct messages produce. */
  expectedChecksum(n: number): number {
    let c = 0;
    if (this.kind === 'bytes') {
      const m = this.template!.slice();
      for (let i = 0; i < n; i++) {
        stamp(m, i);
        c = (c + u32(m, 0) + u32(m, m.length - 4) + m.length + m[m.length >> 1]!) >>> 0;
      }
    } else {
      const hashes = this.poolPrints.map(hash);
      for (let i = 0; i < n; i++) {
        c = (c + i) >>> 0;
        if (i % SAMPLE === 0) c = (c + hashes[i % hashes.length]!) >>> 0;
      }
    }
    return c;
  }

  /** Whether exactly `n` correct messages arrived; otherwise why not. */
  verdict(n: number): { verified: boolean; why: string | undefined } {
    if (this.bad > 0) return { verified: false, why: this.firstProblem };
    if (this.count !== n) return { verified: false, why: `${this.count} messages arrived, expected ${n}` };
    if (this.checksum !== this.expectedChecksum(n)) return { verified: false, why: 'checksum differs' };
    return { verified: true, why: undefined };
  }
}

/** Bytes 4 .. length-4 of `m` equal those of `template`. */
function sameBody(m: Uint8Array, template: Uint8Array): boolean {
  const a = Buffer.from(m.buffer, m.byteOffset + 4, m.length - 8);
  const b = Buffer.from(template.buffer, template.byteOffset + 4, template.length - 8);
  return a.equals(b);
}

/** 32-bit FNV-1a of a string's UTF-16 units. */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A canonical text of a plain value, distinguishing what structured clone, msgpack and JSON may
 * change: Map vs object, Date vs string, BigInt vs number, typed array types, undefined, -0, NaN.
 */
export function fingerprint(v: unknown): string {
  const seen = new Set<object>();
  const walk = (x: unknown): string => {
    switch (typeof x) {
      case 'undefined':
        return 'u';
      case 'boolean':
        return x ? 'T' : 'F';
      case 'number':
        return Object.is(x, -0) ? 'n-0' : `n${x}`;
      case 'bigint':
        return `b${x}`;
      case 'string':
        return JSON.stringify(x);
      case 'object': {
        if (x === null) return 'N';
        if (seen.has(x)) return 'cycle';
        seen.add(x);
        let out: string;
        if (Array.isArray(x)) out = `[${x.map(walk).join(',')}]`;
        else if (x instanceof Date) out = `D${x.getTime()}`;
        else if (x instanceof Map)
          out = `M{${[...x].map(([k, val]) => `${walk(k)}:${walk(val)}`).join(',')}}`;
        else if (x instanceof Set) out = `S{${[...x].map(walk).join(',')}}`;
        else if (ArrayBuffer.isView(x)) {
          const kind = x instanceof Uint8Array ? 'Uint8Array' : x.constructor.name;
          out = `${kind}(${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')})`;
        } else if (x instanceof ArrayBuffer) out = `AB(${Buffer.from(x).toString('hex')})`;
        else if (x instanceof RegExp) out = `R${String(x)}`;
        else {
          out = `{${Object.keys(x)
            .map((k) => `${JSON.stringify(k)}:${walk((x as Record<string, unknown>)[k])}`)
            .join(',')}}`;
        }
        seen.delete(x);
        return out;
      }
      default:
        return `?${typeof x}`;
    }
  };
  return walk(v);
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson'];
const PRODUCTS = [
  ['KB-104', 'Mechanical keyboard, brown switches', 89.9],
  ['MS-220', 'Wireless mouse', 24.5],
  ['CB-002', 'USB-C cable, 2 m', 9.99],
  ['MN-270', '27" monitor, 1440p', 279],
  ['HD-512', 'Portable SSD, 512 GB', 64.95],
  ['WC-080', 'Webcam 1080p', 39],
] as const;

/**
 * The built-in object payload: an order event as a web service would pass it around (about 500
 * bytes of JSON; strings, numbers, booleans, null, nested objects and arrays: JSON-safe, so every
 * backend can carry it). Deterministic in `i`.
 */
export function builtinObject(i: number): unknown {
  const first = FIRST[i % FIRST.length]!;
  const last = LAST[(i * 3) % LAST.length]!;
  const items = [0, 1, 2].map((k) => {
    const [sku, title, price] = PRODUCTS[(i + k * 2) % PRODUCTS.length]!;
    return { sku, title, qty: 1 + ((i + k) % 3), unitPrice: price };
  });
  const total = Math.round(items.reduce((s, it) => s + it.qty * it.unitPrice, 0) * 100) / 100;
  return {
    type: 'order.created',
    id: `ord_${(100_000 + i).toString(36)}`,
    createdAt: new Date(Date.UTC(2026, 10, 26, 9, 30, i % 60)).toISOString(),
    customer: {
      id: 10_000 + i,
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`,
      tier: i % 4 === 0 ? 'gold' : 'standard',
    },
    items,
    total,
    currency: 'EUR',
    shipping: {
      method: i % 2 === 0 ? 'express' : 'standard',
      address: { street: `${12 + (i % 80)} Analytical Way`, city: 'London', zip: 'N1 9GU', country: 'GB' },
    },
    paid: i % 5 !== 0,
    coupon: i % 7 === 0 ? 'WINTER10' : null,
    tags: ['web', i % 3 === 0 ? 'gift' : 'self'],
  };
}

/** Makes the object pool from a generator called with 0 .. POOL-1. */
export function makePool(make: (i: number) => unknown): unknown[] {
  return Array.from({ length: POOL }, (_, i) => make(i));
}

/**
 * Loads the user's payload file: an ES module (or CommonJS) whose default export, or export named
 * `payload`, is a function returning the object to send (called with an index 0..15; it may ignore
 * it). Throws an Error with a message for people when the file is missing or has no such function.
 */
export async function loadPayloadFile(file: string): Promise<(i: number) => unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'ENOENT') {
      throw new ShmkitError('NOT_FOUND', `payload file not found: ${file}`);
    }
    throw new ShmkitError('INVALID_ARGUMENT', `payload file ${file} failed to load: ${err.message}`, {
      cause: err,
    });
  }
  const fromDefault = mod.default;
  const fn =
    typeof mod.payload === 'function'
      ? mod.payload
      : typeof fromDefault === 'function'
        ? fromDefault
        : typeof (fromDefault as Record<string, unknown> | undefined)?.payload === 'function'
          ? (fromDefault as Record<string, unknown>).payload
          : undefined;
  if (typeof fn !== 'function') {
    throw new ShmkitError(
      'INVALID_ARGUMENT',
      `payload file ${file} must export a function returning the object to send (export default () => ({ ... }))`,
    );
  }
  return (i: number) => (fn as (i: number) => unknown)(i);
}
