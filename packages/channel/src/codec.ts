/**
 * Codecs turn values into frame payloads and back.
 *
 * `decode` receives a view into the ring that is only valid during the call (its room is
 * released right after): a codec must copy what it keeps. The built-in codecs all do.
 */
import { invalidArgument, ShmkitError } from '@shmkit/core';
import { Packr } from 'msgpackr';

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
    return bytes.slice();
  },
  decodeAt(ring, start, end) {
    // One allocation: the copy, over a plain ArrayBuffer of its own.
    return ring.slice(start, end);
  },
};

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
 * msgpackr with the options that make it round-trip what structured clone does for plain data
 * (Map, Set, Date, BigInt of any size, typed arrays, undefined). Records are on, but without
 * shared structures, so every message carries its own record definitions: any consumer can
 * decode any message, in any order (shared structures would be state shared between threads).
 * `copyBuffers` makes decoded typed arrays own their memory instead of pointing into the ring.
 */
export function msgpackCodec<T = unknown>(): Codec<T> {
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
  });
  let scratch = new Uint8Array(4096);
  return {
    name: 'msgpack',
    encode(value) {
      try {
        return packr.pack(value);
      } catch (e) {
        throw new ShmkitError(
          'INVALID_ARGUMENT',
          `the msgpack codec cannot encode this value: ${String(e)}`,
          {
            cause: e,
          },
        );
      }
    },
    decode(bytes) {
      // msgpackr reads a view of shared memory about 10x slower than one of ordinary memory
      // (22 us vs 2 us for a 400-byte object here): copy the frame out first, into a buffer
      // reused from call to call (copyBuffers keeps decoded typed arrays from pointing into it).
      if (scratch.length < bytes.length) scratch = new Uint8Array(Math.max(bytes.length, scratch.length * 2));
      scratch.set(bytes);
      try {
        return packr.unpack(scratch.subarray(0, bytes.length)) as T;
      } catch (e) {
        throw new ShmkitError('CORRUPT', `a msgpack message could not be decoded: ${String(e)}`, {
          cause: e,
        });
      }
    },
  };
}

/** The built-in codec called `name`, or `codec` itself when it is a Codec object. */
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
