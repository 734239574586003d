/**
 * Codecs turn values into frame payloads and back.
 *
 * `decode` receives a view into the ring that is only valid during the call (its room is
 * released right after): a codec must copy what it keeps. The built-in codecs all do.
 */
import { invalidArgument, ShmkitError } from '@shmkit/core';
import { addExtension, Packr } from 'msgpackr';
import { type SharedStructures, STRUCTURE_SLOTS } from './msgpack-structures.js';

/** How a Channel encodes its messages. */
export interface Codec<T> {
  /** Carried in handles, so `Channel.from(handle)` picks the same built-in codec. */
  readonly name: string;
  /** The payload of `value`. May return a reused buffer: it is copied into the ring at once. */
  encode(value: T): Uint8Array;
  /** The value of a payload; `bytes` is a view into the ring, valid only during this call. */
  decode(bytes: Uint8Array): T;
  /** Optional: an upper bound of the encoded size; with encodeInto, lets send skip a copy. */
  maxEncodedSize?(value: T): number;
  /** Optional: encodes straight into `dest` (at least maxEncodedSize bytes long); returns its length. */
  encodeInto?(value: T, dest: Uint8Array): number;
  /**
   * Optional: decodes bytes [start, end) of `ring` without the caller making a view first (a
   * view is an allocation per message). Same contract as decode.
   */
  decodeAt?(ring: Uint8Array, start: number, end: number): T;
}

/** Names of the built-in codecs. */
export type CodecName = 'bytes' | 'utf8' | 'msgpack';

/** Uint8Array in; a fresh Uint8Array (over a plain ArrayBuffer the receiver owns) out. */
export const bytesCodec: Codec<Uint8Array> = {
  name: 'bytes',
  encode(value) {
    if (!(value instanceof Uint8Array)) invalidArgument('the bytes codec sends Uint8Array values');
    return value;
  },
  decode(bytes) {
    return copyOf(bytes, 0, bytes.length);
  },
  decodeAt(ring, start, end) {
    return copyOf(ring, start, end - start);
  },
};

/** Below this many bytes a loop beats making a view for `set` (and allocates nothing more). */
const LOOP_COPY = 64;
/**
 * From this many bytes on, `new Uint8Array(view)` (an uninitialised allocation, then one copy)
 * beats `new Uint8Array(len)` + `set`, whose zeroed allocation costs more than the copy itself:
 * 1 MiB here took 112 us against 735 us (benchmarks/datapath.ts measures recv end to end).
 */
const CTOR_COPY = 1 << 16;

/**
 * A copy of `len` bytes of `src` from `start`, over a plain ArrayBuffer of its own. Never
 * `slice`: on a SharedArrayBuffer view, slice takes a slow path in V8 (about 2 ms per MiB
 * against 40-110 us for a copy through `set` or the constructor).
 */
function copyOf(src: Uint8Array, start: number, len: number): Uint8Array {
  if (len >= CTOR_COPY) return new Uint8Array(src.subarray(start, start + len));
  const out = new Uint8Array(len);
  if (len <= LOOP_COPY) {
    for (let i = 0; i < len; i++) out[i] = src[start + i]!;
  } else {
    out.set(src.subarray(start, start + len));
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });
/** Strings up to this many UTF-16 units are encoded straight into the ring (3 bytes worst case each). */
const DIRECT_UTF8 = 4096;

/** Strings, encoded as UTF-8 straight into the ring with TextEncoder.encodeInto. */
export const utf8Codec: Codec<string> = {
  name: 'utf8',
  encode(value) {
    if (typeof value !== 'string') invalidArgument('the utf8 codec sends strings');
    return encoder.encode(value);
  },
  maxEncodedSize(value) {
    if (typeof value !== 'string') invalidArgument('the utf8 codec sends strings');
    // Long strings are encoded first: reserving 3x their length could exceed the ring.
    return value.length <= DIRECT_UTF8 ? value.length * 3 : -1;
  },
  encodeInto(value, dest) {
    return encoder.encodeInto(value, dest).written;
  },
  decode(bytes) {
    return decoder.decode(bytes);
  },
};

/**
 * What the msgpack codec refuses, as structured clone does (DataCloneError there), instead of
 * msgpackr's default of writing them as `{}`: Promise, WeakMap, WeakSet, WeakRef,
 * FinalizationRegistry, generator objects. A SharedArrayBuffer is refused too: its memory cannot
 * travel through a byte ring (postMessage shares it; here, send a handle of a shmkit object or a
 * segment name instead). Functions are refused through writeFunction, symbols by msgpackr itself.
 * A Proxy cannot be told from an ordinary object in portable JavaScript: it is encoded as what it
 * presents (structured clone refuses it).
 *
 * msgpackr's extension list is global to the process; this one only matches while one of our
 * codecs is encoding (`refusing`), so other users of msgpackr in the process see no change.
 */
let refusing = false;
const toTag = Object.prototype.toString;
const G = globalThis as unknown as Record<string, (new (...a: never[]) => object) | undefined>;
const REFUSED_CLASSES = [
  'Promise',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'SharedArrayBuffer',
]
  .map((n) => G[n])
  .filter((c): c is new (...a: never[]) => object => typeof c === 'function');

/** Matches the refused values (msgpackr asks each extension class with instanceof). */
function Uncloneable(): void {}
Object.defineProperty(Uncloneable, Symbol.hasInstance, {
  value(v: unknown): boolean {
    if (!refusing) return false;
    for (const c of REFUSED_CLASSES) if (v instanceof c) return true;
    const tag = toTag.call(v);
    return tag === '[object Generator]' || tag === '[object AsyncGenerator]';
  },
});
addExtension({
  Class: Uncloneable,
  write(v: unknown) {
    throw new TypeError(`${toTag.call(v).slice(8, -1)} cannot be cloned`);
  },
});

/** Options of {@link msgpackCodec}. */
export interface MsgpackCodecOptions {
  /**
   * The channel's shared structures table: records are then defined once in shared memory
   * instead of in every message. Channel passes it for channels created with codec 'msgpack'.
   */
  structures?: SharedStructures;
}

/**
 * msgpackr with the options that make it round-trip what structured clone does for plain data
 * (Map, Set, Date, BigInt of any size, typed arrays, undefined), refusing what it refuses.
 * Records are on. Without a structures table, every message carries its own record definitions
 * (any consumer can decode any message, in any order). With one (see msgpack-structures.ts), key
 * lists are defined once in the channel's shared memory and messages only name them.
 * `copyBuffers` makes decoded typed arrays own their memory instead of pointing into the ring.
 */
export function msgpackCodec<T = unknown>(o?: MsgpackCodecOptions): Codec<T> {
  const table = o?.structures;
  const packr = new Packr({
    structuredClone: true,
    useRecords: true,
    mapsAsObjects: false,
    copyBuffers: true,
    moreTypes: true,
    // Structured clone refuses functions; msgpackr would quietly encode them as undefined.
    writeFunction: () => {
      throw new TypeError('functions cannot be cloned');
    },
    ...(table === undefined
      ? {}
      : {
          maxSharedStructures: STRUCTURE_SLOTS,
          getStructures: () => table.load(unpacking),
          saveStructures: (structs: string[][]) => table.save(structs),
          shouldShareStructure: () => !table.full,
        }),
  });
  let scratch = new Uint8Array(4096);
  /** Set while unpacking: msgpackr then asks for structures only for a record id it lacks. */
  let unpacking = false;
  return {
    name: 'msgpack',
    encode(value) {
      refusing = true;
      try {
        return packr.pack(value);
      } catch (e) {
        if (ShmkitError.is(e)) throw e;
        throw new ShmkitError(
          'INVALID_ARGUMENT',
          `the msgpack codec cannot encode this value: ${String(e)}`,
          {
            cause: e,
          },
        );
      } finally {
        refusing = false;
      }
    },
    decode(bytes) {
      return unpackCopy(bytes, 0, bytes.length);
    },
    decodeAt(ring, start, end) {
      return unpackCopy(ring, start, end);
    },
  };

  /**
   * msgpackr reads a view of shared memory about 10x slower than one of ordinary memory (22 us vs
   * 2 us for a 400-byte object here): copy the frame out first, into a buffer reused from call to
   * call (copyBuffers keeps decoded typed arrays from pointing into it). Small frames are copied
   * byte by byte, which saves making a view of the ring per message.
   */
  function unpackCopy(src: Uint8Array, start: number, end: number): T {
    const len = end - start;
    if (scratch.length < len) scratch = new Uint8Array(Math.max(len, scratch.length * 2));
    if (len <= 64) for (let k = 0; k < len; k++) scratch[k] = src[start + k]!;
    else scratch.set(src.subarray(start, end));
    unpacking = true;
    try {
      return packr.unpack(scratch, len) as T;
    } catch (e) {
      if (ShmkitError.is(e)) throw e;
      throw new ShmkitError('CORRUPT', `a msgpack message could not be decoded: ${String(e)}`, {
        cause: e,
      });
    } finally {
      unpacking = false;
    }
  }
}

/**
 * The built-in codec called `name`, or `codec` itself when it is a Codec object (which needs a
 * `name`); INVALID_ARGUMENT for anything else. For packages that take a codec option as Channel does.
 *
 * @example
 * ```ts fragment
 * resolveCodec('utf8').encode('hi');     // Uint8Array [104, 105]
 * resolveCodec(undefined) === bytesCodec; // the default
 * ```
 */
export function resolveCodec<T>(codec: CodecName | Codec<T> | undefined): Codec<T> {
  if (codec === undefined || codec === 'bytes') return bytesCodec as unknown as Codec<T>;
  if (codec === 'utf8') return utf8Codec as unknown as Codec<T>;
  if (codec === 'msgpack') return msgpackCodec<T>();
  if (
    typeof codec === 'object' &&
    codec !== null &&
    typeof codec.encode === 'function' &&
    typeof codec.decode === 'function'
  ) {
    if (typeof codec.name !== 'string') invalidArgument('a custom codec needs a name');
    return codec;
  }
  return invalidArgument(
    `unknown codec ${JSON.stringify(codec)}: use 'bytes', 'utf8', 'msgpack' or a Codec object`,
  );
}
