/**
 * RingBuffer: a single-producer, single-consumer stream of typed elements (audio samples, sensor
 * readings), wait-free on both sides. A drop-in for ringbuf.js 0.4: same statics, constructor,
 * methods and semantics, so code written for it switches by changing the import. shmkit adds
 * cache-line isolated indices, `handle` / `RingBuffer.from(handle)`, and blocking / async
 * helpers that wait for room or data.
 *
 * Layout of the SharedArrayBuffer from getStorageForCapacity:
 * | offset | size | field         | written by                                             |
 * |--------|------|---------------|--------------------------------------------------------|
 * | 0      | 4    | write index   | the producer (release: publishes the elements below it) |
 * | 128    | 4    | read index    | the consumer (release: frees the slots below it)        |
 * | 256    | 4    | tag           | constructor                                             |
 * | 260    | 4    | element type  | constructor (index into ELEMENT_TYPES + 1)              |
 * | 264    | 4    | readSleepers  | consumers inside popBlocking/popAsync                   |
 * | 268    | 4    | writeSleepers | producers inside pushBlocking/pushAsync                 |
 * | 384    | ...  | storage       | (capacity + 1) elements: one slot stays empty, so       |
 * |        |      |               | read == write means empty, write + 1 == read means full |
 *
 * Indices are element positions in [0, capacity + 1). Sleepers wait on the index the other side
 * moves (readers on the write index, writers on the read index), so no separate signal word is
 * needed; every push or pop wakes only when a sleeper is registered.
 */
import {
  type AsyncWaitOptions,
  Deadline,
  defineTag,
  type Handle,
  heapWaiter,
  invalidArgument,
  regionFromHandle,
  runAsync,
  runBlocking,
  ShmkitError,
  throwIfAborted,
  timeoutError,
  validateAsyncOptions,
  validateWaitOptions,
  type WaitOptions,
  type WaitSteps,
} from '@shmkit/core';

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

const ELEMENT_TYPES: TypedArrayConstructor[] = [
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

const TAG = defineTag('SKrb', 'RingBuffer');
const WRITE = 0;
const READ = 32;
const TAG_WORD = 64;
const TYPE_WORD = 65;
const READ_SLEEPERS = 66;
const WRITE_SLEEPERS = 67;
const STORAGE = 384;

/** A RingBuffer's handle: its buffer and element type. */
export interface RingBufferHandle extends Handle {
  readonly elementType: string;
}

/**
 * @example
 * ```ts
 * const sab = RingBuffer.getStorageForCapacity(4096, Float32Array);
 * const rb = new RingBuffer(sab, Float32Array);   // in the other thread: new RingBuffer(sab, Float32Array)
 * rb.push(samples);                                // returns how many fitted
 * const n = rb.pop(out);                           // returns how many were read
 * ```
 */
export class RingBuffer {
  /** The SharedArrayBuffer holding the ring (ringbuf.js calls it `buf`). */
  readonly buf: SharedArrayBuffer;
  /** The elements, capacity + 1 slots. */
  readonly storage: TypedArray;
  private readonly elementType: TypedArrayConstructor;
  private readonly slots: number;
  private readonly ctl: Int32Array;

  /**
   * Allocates a SharedArrayBuffer for a ring of `capacity` elements of `type`.
   * Allocates; call it once, at setup.
   */
  static getStorageForCapacity(capacity: number, type: TypedArrayConstructor): SharedArrayBuffer {
    if (!type?.BYTES_PER_ELEMENT) invalidArgument('pass a typed array class, such as Float32Array');
    if (!Number.isInteger(capacity) || capacity < 1)
      invalidArgument(`capacity must be a positive integer, got ${capacity}`);
    return new SharedArrayBuffer(STORAGE + (capacity + 1) * type.BYTES_PER_ELEMENT);
  }

  /** Wraps storage from getStorageForCapacity; both threads call this with the same buffer and type. */
  constructor(sab: SharedArrayBuffer, type: TypedArrayConstructor) {
    if (!type || type.BYTES_PER_ELEMENT === undefined) {
      invalidArgument('pass a typed array class, such as Float32Array, as second argument');
    }
    const code = ELEMENT_TYPES.indexOf(type) + 1;
    if (code === 0) invalidArgument(`unsupported element type ${type.name}`);
    if (!(sab instanceof SharedArrayBuffer)) invalidArgument('a RingBuffer needs a SharedArrayBuffer');
    const slots = (sab.byteLength - STORAGE) / type.BYTES_PER_ELEMENT;
    if (!Number.isInteger(slots) || slots < 2) {
      invalidArgument('this buffer was not made by RingBuffer.getStorageForCapacity for this type');
    }
    this.buf = sab;
    this.elementType = type;
    this.slots = slots;
    this.ctl = new Int32Array(sab, 0, STORAGE / 4);
    this.storage = new (type as unknown as new (b: SharedArrayBuffer, o: number, n: number) => TypedArray)(
      sab,
      STORAGE,
      slots,
    );
    const prev = Atomics.compareExchange(this.ctl, TYPE_WORD, 0, code);
    if (prev !== 0 && prev !== code) {
      const other = ELEMENT_TYPES[prev - 1]?.name ?? 'unknown';
      throw new ShmkitError('INCOMPATIBLE', `this ring holds ${other}, not ${type.name}`);
    }
    Atomics.store(this.ctl, TAG_WORD, TAG);
  }

  /** Re-attaches, in this thread, to the ring behind `handle`. */
  static from(handle: RingBufferHandle): RingBuffer {
    const region = regionFromHandle(handle, 'RingBuffer');
    const type = ELEMENT_TYPES.find((t) => t.name === handle.elementType);
    if (type === undefined) invalidArgument(`unknown element type ${String(handle.elementType)}`);
    if (region.byteOffset !== 0 || region.byteLength !== region.buffer.byteLength) {
      invalidArgument('a RingBuffer handle covers its whole buffer');
    }
    if (Atomics.load(new Int32Array(region.buffer, 0, STORAGE / 4), TAG_WORD) !== TAG) {
      throw new ShmkitError('INCOMPATIBLE', 'no RingBuffer in this buffer');
    }
    return new RingBuffer(region.buffer, type);
  }

  /** A structured-clonable reference: post it to a worker, then RingBuffer.from(handle). */
  get handle(): RingBufferHandle {
    return {
      type: 'RingBuffer',
      buffer: this.buf,
      byteOffset: 0,
      byteLength: this.buf.byteLength,
      waiter: 'heap',
      elementType: this.elementType.name,
    };
  }

  /** The element type's name, as ringbuf.js returns it ("Float32Array"). */
  type(): string {
    return this.elementType.name;
  }

  /**
   * Pushes up to `length` (default: all) elements of `elements` from `offset`; returns how many
   * fitted. Never blocks, never allocates. Producer side only.
   */
  push(elements: TypedArray, length?: number, offset = 0): number {
    const rd = Atomics.load(this.ctl, READ);
    const wr = Atomics.load(this.ctl, WRITE);
    const n = Math.min(this.writable(rd, wr), length ?? elements.length);
    if (n <= 0) return 0;
    const first = Math.min(this.slots - wr, n);
    copy(elements, offset, this.storage, wr, first);
    copy(elements, offset + first, this.storage, 0, n - first);
    this.publishWrite((wr + n) % this.slots);
    return n;
  }

  /**
   * Pops up to `length` (default: `elements.length`) elements into `elements` at `offset`;
   * returns how many. Never blocks, never allocates. Consumer side only.
   */
  pop(elements: TypedArray, length?: number, offset = 0): number {
    const rd = Atomics.load(this.ctl, READ);
    const wr = Atomics.load(this.ctl, WRITE);
    const n = Math.min(this.readable(rd, wr), length ?? elements.length);
    if (n <= 0) return 0;
    const first = Math.min(this.slots - rd, n);
    copy(this.storage, rd, elements, offset, first);
    copy(this.storage, 0, elements, offset + first, n - first);
    this.publishRead((rd + n) % this.slots);
    return n;
  }

  /**
   * Lets `cb` write up to `amount` elements in place, into two views (before and after the wrap).
   * `cb` returns how many it wrote from the start of the first view (nothing: all of them).
   * Allocates the two views.
   */
  writeCallback(
    amount: number,
    cb: (first: TypedArray, second: TypedArray) => number | undefined | void,
  ): number {
    const rd = Atomics.load(this.ctl, READ);
    const wr = Atomics.load(this.ctl, WRITE);
    const n = Math.min(this.writable(rd, wr), amount);
    if (n <= 0) return 0;
    const first = Math.min(this.slots - wr, n);
    const written = this.clampWritten(
      cb(this.storage.subarray(wr, wr + first), this.storage.subarray(0, n - first)),
      n,
    );
    this.publishWrite((wr + written) % this.slots);
    return written;
  }

  /**
   * Like writeCallback, without allocating: `cb(storage, offset1, count1, offset2, count2)`.
   */
  writeCallbackWithOffset(
    amount: number,
    cb: (
      storage: TypedArray,
      offset1: number,
      count1: number,
      offset2: number,
      count2: number,
    ) => number | undefined | void,
  ): number {
    const rd = Atomics.load(this.ctl, READ);
    const wr = Atomics.load(this.ctl, WRITE);
    const n = Math.min(this.writable(rd, wr), amount);
    if (n <= 0) return 0;
    const first = Math.min(this.slots - wr, n);
    const written = this.clampWritten(cb(this.storage, wr, first, 0, n - first), n);
    this.publishWrite((wr + written) % this.slots);
    return written;
  }

  /** True if empty. Can be late on the consumer side: the producer may just have pushed. */
  empty(): boolean {
    return Atomics.load(this.ctl, WRITE) === Atomics.load(this.ctl, READ);
  }

  /** True if full. Can be late on the producer side: the consumer may just have popped. */
  full(): boolean {
    return (Atomics.load(this.ctl, WRITE) + 1) % this.slots === Atomics.load(this.ctl, READ);
  }

  /** Elements the ring can hold. */
  capacity(): number {
    return this.slots - 1;
  }

  /** Elements ready to pop; can be late (the producer may have pushed since). */
  availableRead(): number {
    return this.readable(Atomics.load(this.ctl, READ), Atomics.load(this.ctl, WRITE));
  }

  /** Room for elements to push; can be late (the consumer may have popped since). */
  availableWrite(): number {
    return this.writable(Atomics.load(this.ctl, READ), Atomics.load(this.ctl, WRITE));
  }

  /** ringbuf.js name of availableRead. */
  available_read(): number {
    return this.availableRead();
  }

  /** ringbuf.js name of availableWrite. */
  available_write(): number {
    return this.availableWrite();
  }

  /**
   * Pushes every element of `elements` (or `length` from `offset`), waiting for room as needed.
   * TIMEOUT if the time runs out; elements pushed until then stay pushed. Returns the count.
   */
  pushBlocking(elements: TypedArray, o?: WaitOptions & { length?: number; offset?: number }): number {
    const deadline = new Deadline(validateWaitOptions(o));
    return runBlocking(this.pushSteps(elements, o?.length, o?.offset ?? 0, deadline), heapWaiter, this.ctl);
  }

  /** The async form of pushBlocking. */
  async pushAsync(
    elements: TypedArray,
    o?: AsyncWaitOptions & { length?: number; offset?: number },
  ): Promise<number> {
    const { timeout, signal } = validateAsyncOptions(o);
    throwIfAborted(signal);
    return runAsync(
      this.pushSteps(elements, o?.length, o?.offset ?? 0, new Deadline(timeout)),
      heapWaiter,
      this.ctl,
      signal,
    );
  }

  /**
   * Waits until at least one element is ready (or `min` elements), then pops up to `length`
   * (default `elements.length`). TIMEOUT if none came in time. Returns the count.
   */
  popBlocking(
    elements: TypedArray,
    o?: WaitOptions & { length?: number; offset?: number; min?: number },
  ): number {
    const deadline = new Deadline(validateWaitOptions(o));
    return runBlocking(this.popSteps(elements, o, deadline), heapWaiter, this.ctl);
  }

  /** The async form of popBlocking. */
  async popAsync(
    elements: TypedArray,
    o?: AsyncWaitOptions & { length?: number; offset?: number; min?: number },
  ): Promise<number> {
    const { timeout, signal } = validateAsyncOptions(o);
    throwIfAborted(signal);
    return runAsync(this.popSteps(elements, o, new Deadline(timeout)), heapWaiter, this.ctl, signal);
  }

  private *pushSteps(
    elements: TypedArray,
    length: number | undefined,
    offset: number,
    deadline: Deadline,
  ): WaitSteps<number> {
    const total = length ?? elements.length - offset;
    let done = 0;
    for (;;) {
      const rd = Atomics.load(this.ctl, READ);
      done += this.push(elements, total - done, offset + done);
      if (done >= total) return done;
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('RingBuffer push', deadline.timeout);
      Atomics.add(this.ctl, WRITE_SLEEPERS, 1);
      try {
        if (this.availableWrite() > 0) continue;
        yield { index: READ, expected: rd, timeout: left };
      } finally {
        Atomics.sub(this.ctl, WRITE_SLEEPERS, 1);
      }
    }
  }

  private *popSteps(
    elements: TypedArray,
    o: { length?: number; offset?: number; min?: number } | undefined,
    deadline: Deadline,
  ): WaitSteps<number> {
    const length = o?.length ?? elements.length - (o?.offset ?? 0);
    const min = Math.min(o?.min ?? 1, length);
    for (;;) {
      const wr = Atomics.load(this.ctl, WRITE);
      if (this.availableRead() >= min) return this.pop(elements, length, o?.offset ?? 0);
      const left = deadline.remaining();
      if (left === 0) throw timeoutError('RingBuffer pop', deadline.timeout);
      Atomics.add(this.ctl, READ_SLEEPERS, 1);
      try {
        if (this.availableRead() >= min) continue;
        yield { index: WRITE, expected: wr, timeout: left };
      } finally {
        Atomics.sub(this.ctl, READ_SLEEPERS, 1);
      }
    }
  }

  private readable(rd: number, wr: number): number {
    return (wr + this.slots - rd) % this.slots;
  }

  private writable(rd: number, wr: number): number {
    return this.slots - 1 - this.readable(rd, wr);
  }

  /** As in ringbuf.js, a callback returning nothing (or 0) has written everything it was offered. */
  private clampWritten(r: number | undefined | void, n: number): number {
    if (!r) return n;
    if (!Number.isInteger(r) || r < 0 || r > n)
      invalidArgument(`the callback reported ${String(r)} elements written, max ${n}`);
    return r;
  }

  private publishWrite(wr: number): void {
    // release: the elements below the new write index are visible to the consumer's load.
    Atomics.store(this.ctl, WRITE, wr);
    if (Atomics.load(this.ctl, READ_SLEEPERS) !== 0)
      heapWaiter.notify(this.ctl, WRITE, Number.POSITIVE_INFINITY);
  }

  private publishRead(rd: number): void {
    // release: the slots below the new read index may be overwritten by the producer.
    Atomics.store(this.ctl, READ, rd);
    if (Atomics.load(this.ctl, WRITE_SLEEPERS) !== 0)
      heapWaiter.notify(this.ctl, READ, Number.POSITIVE_INFINITY);
  }
}

/** Copies without allocating: set() for a whole array, an element loop for part of one. */
function copy(input: TypedArray, inOffset: number, output: TypedArray, outOffset: number, n: number): void {
  if (n <= 0) return;
  const src = input as Float64Array;
  const dst = output as Float64Array;
  if (inOffset === 0 && n === src.length) {
    dst.set(src, outOffset);
    return;
  }
  // Unrolled by 8: the element loop is the cost of every wrapped or offset copy and every pop.
  let i = 0;
  for (const end8 = n - 7; i < end8; i += 8) {
    const a = outOffset + i;
    const b = inOffset + i;
    dst[a] = src[b]!;
    dst[a + 1] = src[b + 1]!;
    dst[a + 2] = src[b + 2]!;
    dst[a + 3] = src[b + 3]!;
    dst[a + 4] = src[b + 4]!;
    dst[a + 5] = src[b + 5]!;
    dst[a + 6] = src[b + 6]!;
    dst[a + 7] = src[b + 7]!;
  }
  for (; i < n; i++) dst[outOffset + i] = src[inOffset + i]!;
}
