/**
 * A struct type as a Channel codec: each message is one struct of byteLength bytes. Sending encodes
 * straight into the room claimed in the ring (encodeInto), receiving decodes straight from the
 * frame (decodeAt): no intermediate buffer on either side. Frames in a ring start 16-byte aligned,
 * so the typed-array accessors apply directly; a misaligned destination goes through scratch memory.
 *
 * The codec matches the Codec interface of @shmkit/channel structurally (this package depends on
 * core only).
 */
import { ShmkitError } from '@shmkit/core';
import { type Memory, memoryOf } from './memory.js';
import type { StructType } from './struct.js';
import type { Schema } from './types.js';

/** The Codec shape Channel takes (name, encode, decode and the direct paths). */
export interface StructCodec<V> {
  readonly name: string;
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
  maxEncodedSize(value: V): number;
  encodeInto(value: V, dest: Uint8Array): number;
  decodeAt(ring: Uint8Array, start: number, end: number): V;
}

export function makeCodec<T extends Schema>(type: StructType<T>): StructCodec<unknown> {
  const { impl, byteLength: len, alignment } = type;
  const mask = alignment - 1;
  // The encode buffer, reused: Codec.encode may return a reused buffer (it is copied at once).
  const own = memoryOf(new ArrayBuffer(Math.max(8, (len + 7) & ~7)));
  const out = own.u8.subarray(0, len);
  let lastBuffer: ArrayBufferLike | undefined;
  let lastMemory: Memory | undefined;
  /** The typed arrays of `buffer`, or undefined when views cannot index it (over 4 GiB). */
  const memory = (buffer: ArrayBufferLike): Memory | undefined => {
    if (buffer !== lastBuffer) {
      lastBuffer = buffer;
      try {
        lastMemory = memoryOf(buffer);
      } catch {
        lastMemory = undefined;
      }
    }
    return lastMemory;
  };
  const decodeAt = (ring: Uint8Array, start: number, end: number): unknown => {
    if (end - start !== len) {
      throw new ShmkitError('CORRUPT', `a ${type.name} message has ${end - start} bytes, expected ${len}`);
    }
    const o = ring.byteOffset + start;
    const m = memory(ring.buffer);
    if (m !== undefined && (o & mask) === 0) return impl.decodeAt(m, o);
    own.u8.set(ring.subarray(start, end));
    return impl.decodeAt(own, 0);
  };
  return {
    name: `struct:${type.name}:${type.layoutHash.toString(16).padStart(8, '0')}`,
    encode(value) {
      impl.encodeAt(own, 0, value);
      return out;
    },
    decode(bytes) {
      return decodeAt(bytes, 0, bytes.length);
    },
    maxEncodedSize() {
      return len;
    },
    encodeInto(value, dest) {
      const o = dest.byteOffset;
      const m = memory(dest.buffer);
      if (m !== undefined && (o & mask) === 0 && dest.length >= len) impl.encodeAt(m, o, value);
      else dest.set(this.encode(value).subarray(0, len));
      return len;
    },
    decodeAt,
  };
}
