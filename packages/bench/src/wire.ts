/**
 * How each backend puts a message on its wire, and the length-prefixed framing of the stream
 * backends (uds, tcp, pipe). Both sides use these, so every backend does the same work a real
 * application would: encode on one side, decode on the other.
 *
 * | family  | backends                         | bytes                 | objects                 |
 * |---------|----------------------------------|-----------------------|-------------------------|
 * | clone   | postmessage, child-ipc-advanced  | Uint8Array as is      | structured clone / V8   |
 * | json    | child-ipc-json                   | base64 string         | JSON                    |
 * | frame   | uds, tcp, pipe                   | raw frame payload     | msgpack (shmkit codec)  |
 * | channel | shmkit-*                         | codec 'bytes'         | codec 'msgpack'         |
 *
 * (shmkit-thread-struct: objects through its struct's codec, see channelCodec.)
 */
import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8';
import { type Codec, msgpackCodec } from '@shmkit/channel';
import { StructEnvelope, structFidelityProblem } from './backend-struct.js';
import type { BackendId, PayloadKind } from './types.js';

export type WireFamily = 'clone' | 'json' | 'frame' | 'channel';

export function familyOf(id: BackendId): WireFamily {
  switch (id) {
    case 'postmessage':
    case 'child-ipc-advanced':
      return 'clone';
    case 'child-ipc-json':
      return 'json';
    case 'uds':
    case 'uds-batched':
    case 'tcp':
    case 'pipe':
      return 'frame';
    default:
      return 'channel';
  }
}

/**
 * The codec of a channel backend's Channels, the same on both sides: 'bytes' for bytes; for
 * objects 'msgpack', or the struct envelope's codec for shmkit-thread-struct. A Codec object (not
 * a name) must be given again where a handle is attached.
 */
export function channelCodec(id: BackendId, kind: PayloadKind): 'bytes' | 'msgpack' | Codec<unknown> {
  if (kind === 'bytes') return 'bytes';
  return id === 'shmkit-thread-struct' ? (StructEnvelope.codec as unknown as Codec<unknown>) : 'msgpack';
}

/** Turns a message (Uint8Array or envelope) into what goes on a wire, and back. */
export interface WireCodec {
  encode(m: unknown): unknown;
  decode(w: unknown): unknown;
}

const identity: WireCodec = { encode: (m) => m, decode: (w) => w };

const base64Bytes: WireCodec = {
  encode: (m) => {
    const u = m as Uint8Array;
    return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
  },
  decode: (w) => Buffer.from(w as string, 'base64'),
};

/** The msgpack codec of @shmkit/channel: frames carry exactly what a shmkit channel carries. */
function msgpackWire(): WireCodec {
  const c: Codec<unknown> = msgpackCodec();
  return { encode: (m) => c.encode(m), decode: (w) => c.decode(w as Uint8Array) };
}

/** The codec of `family` for `kind` messages (fresh: the msgpack one keeps state). */
export function wireCodec(family: WireFamily, kind: PayloadKind): WireCodec {
  if (family === 'json' && kind === 'bytes') return base64Bytes;
  if (family === 'frame' && kind === 'object') return msgpackWire();
  return identity;
}

/**
 * Why `family` cannot carry `pool` faithfully (undefined when it can): the object must come out
 * with the same fingerprint, or the run could not be verified (and the numbers would be for a
 * different payload).
 */
export function fidelityProblem(
  id: BackendId,
  pool: readonly unknown[],
  print: (v: unknown) => string,
): string | undefined {
  if (id === 'shmkit-thread-struct') return structFidelityProblem(pool, print);
  if (id.startsWith('python-')) return 'the Python backends carry bytes payloads only';
  const family = familyOf(id);
  const roundTrip = (v: unknown): unknown => {
    if (family === 'json') return JSON.parse(JSON.stringify(v) ?? 'null');
    if (id === 'child-ipc-advanced') return v8Deserialize(v8Serialize(v));
    if (family === 'clone') return structuredClone(v);
    const c = msgpackCodec<unknown>();
    return c.decode(c.encode(v));
  };
  const what =
    family === 'json'
      ? 'JSON'
      : id === 'child-ipc-advanced'
        ? 'the V8 serializer'
        : family === 'clone'
          ? 'structured clone'
          : 'msgpack';
  for (const v of pool) {
    let back: unknown;
    try {
      back = roundTrip(v);
    } catch (e) {
      return `the payload cannot be sent with ${what}: ${(e as Error).message}`;
    }
    if (print(back) !== print(v)) {
      return `the payload does not survive ${what} unchanged (e.g. Date, Map, Set, BigInt, undefined or typed arrays)`;
    }
  }
  return undefined;
}

/** Largest frame a reader accepts (a corrupt length must not allocate gigabytes). */
export const MAX_FRAME = 256 << 20;

/**
 * A fresh buffer holding one frame: a uint32 little-endian length, then `payload`. Sockets keep a
 * reference to what they write, so the payload (often a reused buffer) is copied here.
 */
export function frame(payload: Uint8Array): Buffer {
  const f = Buffer.allocUnsafe(4 + payload.length);
  f.writeUInt32LE(payload.length, 0);
  f.set(payload, 4);
  return f;
}

/**
 * Splits a byte stream into frames. Frames inside one chunk are passed as views of it (no copy);
 * a frame split across chunks is assembled in a buffer of its own.
 */
export class FrameReader {
  private readonly head = Buffer.alloc(4);
  private headHave = 0;
  private body: Buffer | undefined;
  private bodyHave = 0;

  constructor(private readonly onFrame: (payload: Uint8Array) => void) {}

  push(chunk: Buffer): void {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (this.body !== undefined) {
        const take = Math.min(this.body.length - this.bodyHave, len - off);
        chunk.copy(this.body, this.bodyHave, off, off + take);
        this.bodyHave += take;
        off += take;
        if (this.bodyHave === this.body.length) {
          const done = this.body;
          this.body = undefined;
          this.onFrame(done);
        }
        continue;
      }
      let need: number;
      if (this.headHave === 0 && len - off >= 4) {
        need = chunk.readUInt32LE(off);
        off += 4;
      } else {
        const take = Math.min(4 - this.headHave, len - off);
        chunk.copy(this.head, this.headHave, off, off + take);
        this.headHave += take;
        off += take;
        if (this.headHave < 4) return;
        this.headHave = 0;
        need = this.head.readUInt32LE(0);
      }
      if (need > MAX_FRAME) throw new Error(`corrupt stream: a frame of ${need} bytes`);
      if (len - off >= need) {
        this.onFrame(chunk.subarray(off, off + need));
        off += need;
      } else {
        this.body = Buffer.allocUnsafe(need);
        this.bodyHave = 0;
      }
    }
  }
}
