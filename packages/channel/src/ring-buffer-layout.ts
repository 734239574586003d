/**
 * The RingBuffer header: where each word lives, who writes it, and how a buffer is checked before
 * a RingBuffer trusts it. The byte format is written down in docs/format.md ("RingBuffer").
 *
 * | byte | size | field              | written by                                                  |
 * |------|------|--------------------|-------------------------------------------------------------|
 * | 0    | 4    | tag 0x01627253     | getStorageForCapacity, after words 1-3 (word 0: the tag rule) |
 * | 4    | 4    | layout version (1) | getStorageForCapacity                                       |
 * | 8    | 4    | slots              | getStorageForCapacity (capacity + 1)                        |
 * | 12   | 4    | element type code  | getStorageForCapacity (1-based index in ELEMENT_TYPES)      |
 * | 24   | 4    | last object id     | every constructor (Atomics.add: a number per RingBuffer object) |
 * | 128  | 4    | write word         | the producer (index); a sleeping consumer (SLEEPER bit)     |
 * | 132  | 4    | producer id        | a push by an object other than the last one to push         |
 * | 256  | 4    | read word          | the consumer (index); a sleeping producer (SLEEPER bit)     |
 * | 260  | 4    | consumer id        | a pop by an object other than the last one to pop           |
 * | 384  | ...  | storage            | slots elements                                              |
 *
 * An index word holds the index (bits 0-29, in [0, slots)) and the SLEEPER bit (bit 30): set by
 * the other side (Atomics.or) before it sleeps on that word, cleared by the owner's next publish
 * (Atomics.exchange), which then notifies. Bit 31 is never set. Words 0-3 are written once,
 * before the buffer is shared, and only read by constructors. Each index has a 128-byte line of
 * its own (two 64-byte lines, against the adjacent-line prefetcher), shared only with the id of
 * the side that writes it; see ring-buffer.ts for why. Bytes 16-23 are reserved (zero).
 *
 * Unlike the other shared objects, the tag is written by the allocator, not by a constructor:
 * ringbuf.js's contract is "getStorageForCapacity, then `new RingBuffer(sab, type)` in every
 * thread", so every constructor is an attach. That is also how a buffer made by ringbuf.js is told
 * apart: its word 0 is its write index (below its slot count, so never the tag unless the buffer
 * holds over 23 M elements, and then its read index must also be 1 and two of its samples must
 * spell this header's slot count and element type).
 */
import { defineTag, invalidArgument, ShmkitError } from '@shmkit/core';

/** A typed array class a RingBuffer can hold. */
export type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** An instance of one of those classes. */
export type TypedArray = InstanceType<TypedArrayConstructor>;

/** The element types, in type-code order (code = index + 1). Never reorder: the codes are stored. */
export const ELEMENT_TYPES: readonly TypedArrayConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

/** Bumped on any change to the words below; a buffer with another version is INCOMPATIBLE. */
export const RING_BUFFER_LAYOUT_VERSION = 1;
/** The tag: bytes 'S', 'r', 'b', layout version (0x01627253 for version 1): docs/format.md, "Type tags". */
export const RING_BUFFER_TAG = defineTag('rb', 'RingBuffer', RING_BUFFER_LAYOUT_VERSION);

// Word indices (Int32Array over byte 0).
export const TAG_WORD = 0;
export const VERSION_WORD = 1;
export const SLOTS_WORD = 2;
export const TYPE_WORD = 3;
export const LAST_ID = 6;
/** Byte 128. */
export const WRITE = 32;
/** Byte 132: the id of the object that pushed last (its cached read index is current). */
export const PRODUCER = 33;
/** Byte 256. */
export const READ = 64;
/** Byte 260: the id of the object that popped last. */
export const CONSUMER = 65;
/** Bytes before the first element (a multiple of 8, for BigInt64Array). */
export const HEADER_BYTES = 384;
/** Bit 30 of an index word: the other side sleeps on this word; notify after changing it. */
export const SLEEPER = 0x4000_0000;
/** Bits 0-29 of an index word. */
export const INDEX_MASK = 0x3fff_ffff;
/** Largest slot count: an index fits in INDEX_MASK. */
export const MAX_SLOTS = 0x3fff_ffff;

/** The type code of `type`, or INVALID_ARGUMENT. */
export function typeCode(type: TypedArrayConstructor): number {
  if (typeof type !== 'function' || type.BYTES_PER_ELEMENT === undefined) {
    invalidArgument('pass a typed array class, such as Float32Array');
  }
  const code = ELEMENT_TYPES.indexOf(type) + 1;
  if (code === 0) invalidArgument(`unsupported element type ${type.name}`);
  return code;
}

/** Allocates and formats the buffer of a ring of `capacity` elements of `type`. */
export function allocate(capacity: number, type: TypedArrayConstructor): SharedArrayBuffer {
  const code = typeCode(type);
  if (!Number.isInteger(capacity) || capacity < 1 || capacity + 1 > MAX_SLOTS) {
    invalidArgument(`capacity must be an integer in [1, ${MAX_SLOTS - 1}], got ${capacity}`);
  }
  const slots = capacity + 1;
  let sab: SharedArrayBuffer;
  try {
    sab = new SharedArrayBuffer(HEADER_BYTES + slots * type.BYTES_PER_ELEMENT);
  } catch (e) {
    throw new ShmkitError('TOO_LARGE', `cannot allocate a ring of ${capacity} ${type.name} elements`, {
      cause: e,
    });
  }
  const w = new Int32Array(sab, 0, HEADER_BYTES / 4);
  w[VERSION_WORD] = RING_BUFFER_LAYOUT_VERSION;
  w[SLOTS_WORD] = slots;
  w[TYPE_WORD] = code;
  // The tag last: a header is valid only once complete. No other thread has the buffer yet, so
  // plain ordering suffices; the buffer reaches others through postMessage, which synchronizes.
  Atomics.store(w, TAG_WORD, RING_BUFFER_TAG);
  return sab;
}

/**
 * Checks that `sab` holds a RingBuffer of `type` and returns its slot count. INCOMPATIBLE for a
 * buffer without the header (ringbuf.js storage, a plain SharedArrayBuffer), another layout
 * version or another element type; CORRUPT for a header that contradicts the buffer's size.
 */
export function checkHeader(sab: SharedArrayBuffer, type: TypedArrayConstructor): number {
  const code = typeCode(type);
  if (!(sab instanceof SharedArrayBuffer)) invalidArgument('a RingBuffer needs a SharedArrayBuffer');
  if (
    sab.byteLength < HEADER_BYTES ||
    Atomics.load(new Int32Array(sab, 0, 1), TAG_WORD) !== RING_BUFFER_TAG
  ) {
    throw new ShmkitError(
      'INCOMPATIBLE',
      'this SharedArrayBuffer has no RingBuffer header (tag 0x01627253 in its first word): it was not made by ' +
        "@shmkit/channel's RingBuffer.getStorageForCapacity. Storage from ringbuf.js's getStorageForCapacity " +
        'or from `new SharedArrayBuffer` lacks the header; allocate it with ' +
        `RingBuffer.getStorageForCapacity(capacity, ${type.name}) from @shmkit/channel and pass that buffer to every thread`,
    );
  }
  const w = new Int32Array(sab, 0, HEADER_BYTES / 4);
  const version = Atomics.load(w, VERSION_WORD);
  if (version !== RING_BUFFER_LAYOUT_VERSION) {
    throw new ShmkitError(
      'INCOMPATIBLE',
      `this RingBuffer was created with layout version ${version}; this @shmkit/channel reads version ${RING_BUFFER_LAYOUT_VERSION}`,
    );
  }
  const stored = Atomics.load(w, TYPE_WORD);
  if (stored !== code) {
    const other = ELEMENT_TYPES[stored - 1];
    if (other === undefined)
      throw new ShmkitError('CORRUPT', `RingBuffer header: element type code ${stored}`);
    throw new ShmkitError('INCOMPATIBLE', `this ring holds ${other.name}, not ${type.name}`);
  }
  const slots = Atomics.load(w, SLOTS_WORD);
  if (slots < 2 || slots > MAX_SLOTS || HEADER_BYTES + slots * type.BYTES_PER_ELEMENT !== sab.byteLength) {
    throw new ShmkitError(
      'CORRUPT',
      `RingBuffer header: ${slots} slots, but the buffer of ${sab.byteLength} bytes has room for ` +
        `${(sab.byteLength - HEADER_BYTES) / type.BYTES_PER_ELEMENT}`,
    );
  }
  return slots;
}
