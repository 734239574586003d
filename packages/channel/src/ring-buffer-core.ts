/**
 * RingBufferCore: the wait-free ring under RingBuffer (ring-buffer.ts), everything ringbuf.js 0.4
 * has: its statics, constructor, push / pop, the write callbacks and the size queries. RingBuffer
 * adds the handle and the blocking / async helpers; the header layout is in ring-buffer-layout.ts
 * (and docs/format.md).
 *
 * Algorithm: the classic Lamport ring. `slots = capacity + 1`; one slot always stays empty, so
 * read == write means empty and (write + 1) % slots == read means full. The producer alone stores
 * the write index, the consumer alone the read index; each index is an element position in
 * [0, slots).
 *
 * What a call costs, and why the code is shaped so (issue 9; benchmarks/ring-buffer.ts measures
 * it against ringbuf.js): on Node 20 every Atomics call is a builtin call, about 7 ns against
 * about 1 ns for a plain read of the same word, so the calls are counted. ringbuf.js makes three
 * per push or pop (load both indices, store one).
 * - Each side keeps its own index in the object and trusts it while its side's id word (next to
 *   the index, read with a plain load) names this object; another object that pushed or popped
 *   in between would have written its own id there.
 * - Each side keeps a copy of the other side's index, re-read only when the copy shows too little
 *   room (or data): the copy only ever lags, so it can under-state but never over-state. A
 *   producer that is ahead re-reads the read index about once per lap instead of once per push.
 * - A publish is one Atomics.exchange: it stores the index (release) and returns the old word,
 *   whose SLEEPER bit says whether the other side waits for a wake-up (see pushSteps), so the
 *   blocking helpers cost push and pop nothing.
 * So a push makes one Atomics call (two when its copy runs short) and a pop two (a consumer that
 * keeps up finds its copy short every time).
 * - Each index has a 128-byte line of its own, shared with its side's id only. With the cached
 *   copies, a producer that is ahead never touches the consumer's line, and the write index's
 *   line moves once per pop; adjacent indices would make both publishes fight for one line.
 *   Without the copies the argument flips (each call reads both lines), which is why a patched
 *   ringbuf.js with its indices side by side once measured faster than separate lines (issue 9).
 * Measured (benchmarks/ring-buffer.ts on a quiet 2-core EPYC, medians of 7 reps, with `--impl=`
 * copies of this file varying the two choices), RingBuffer / ringbuf.js: worker → main 1.04x as
 * here, 1.04x side by side with the copies, 0.99x separate without them, 0.98x side by side
 * without them; main → worker 1.22x, 1.12x, 1.04x, 0.92x; one thread 0.97-0.98x for all (the
 * sample copies dominate). The copies pay; with them, separate lines are at least as good.
 *
 * Untrusted memory: every index loaded from the buffer is checked to lie in [0, slots) before it
 * is used, so a corrupted or hostile buffer gives CORRUPT, never a RangeError, a TypeError, a
 * garbage pop or a negative index. Any pair of in-range indices is a valid state, so nothing else
 * needs checking on the hot path; the header words are checked once, by the constructor.
 */
import { heapWaiter, invalidArgument, ShmkitError } from '@shmkit/core';
import { copyIn, copyOut, count } from './ring-buffer-copy.js';
import {
  allocate,
  CONSUMER,
  checkHeader,
  HEADER_BYTES,
  LAST_ID,
  PRODUCER,
  READ,
  SLEEPER,
  type TypedArray,
  type TypedArrayConstructor,
  WRITE,
} from './ring-buffer-layout.js';

/** The wait-free ring; its public surface is RingBuffer's (see there). */
export class RingBufferCore {
  /** The SharedArrayBuffer holding the ring (ringbuf.js calls it `buf`). */
  readonly buf: SharedArrayBuffer;
  /** The elements, capacity + 1 slots. */
  readonly storage: TypedArray;
  protected readonly elementType: TypedArrayConstructor;
  protected readonly slots: number;
  protected readonly ctl: Int32Array;
  /** This object's number, for the producer / consumer id words (see push). */
  private readonly id: number;
  /** Producer side: the write index this object last stored, current while it is the producer. */
  private writeMine = 0;
  /** Producer side: the read index last loaded (never ahead of the real one). */
  protected readSeen = 0;
  /** Consumer side: the read index this object last stored, current while it is the consumer. */
  private readMine = 0;
  /** Consumer side: the write index last loaded (never ahead of the real one). */
  private writeSeen = 0;

  /**
   * Allocates a SharedArrayBuffer for a ring of `capacity` elements of `type`, and writes its
   * header (tag, layout version, slot count, element type). Allocates; call it once, at setup.
   * INVALID_ARGUMENT for a capacity that is not a positive integer; TOO_LARGE if it cannot be had.
   */
  static getStorageForCapacity(capacity: number, type: TypedArrayConstructor): SharedArrayBuffer {
    return allocate(capacity, type);
  }

  /**
   * Wraps storage from getStorageForCapacity; both threads call this with the same buffer and
   * type. INCOMPATIBLE for a buffer without the header — one from ringbuf.js's own
   * getStorageForCapacity, say — or of another element type; CORRUPT for a damaged header.
   */
  constructor(sab: SharedArrayBuffer, type: TypedArrayConstructor) {
    const slots = checkHeader(sab, type);
    this.buf = sab;
    this.elementType = type;
    this.slots = slots;
    this.ctl = new Int32Array(sab, 0, HEADER_BYTES / 4);
    // Attaching reads both indices once, so a damaged ring is CORRUPT from the start.
    this.reloadRead();
    this.reloadWrite();
    // A number no other object on this buffer has (0 means "none", so skip it on wrap-around).
    let id = Atomics.add(this.ctl, LAST_ID, 1) + 1;
    if (id === 0) id = Atomics.add(this.ctl, LAST_ID, 1) + 1;
    this.id = id;
    this.storage = new (type as unknown as new (b: SharedArrayBuffer, o: number, n: number) => TypedArray)(
      sab,
      HEADER_BYTES,
      slots,
    );
  }

  /** The element type's name, as ringbuf.js returns it ("Float32Array"). */
  type(): string {
    return this.elementType.name;
  }

  /**
   * Pushes up to `length` elements of `elements` from `offset` (default: to the end of
   * `elements`); returns how many fitted. Never blocks, never allocates. Producer side only.
   */
  push(elements: TypedArray, length?: number, offset = 0): number {
    const want = count(elements, length, offset);
    const slots = this.slots;
    let wr = this.writeMine;
    let free = 0;
    // A plain read (an Atomics.load costs ~10x here): the id changes only when another object
    // takes over this side, which one-producer use orders before this call (see takeProducer).
    if (this.ctl[PRODUCER] === this.id) {
      // This object pushed last: its own index is current, and its cached read index is behind
      // the real one by less than a lap, so it can only under-state the room. Reload it only
      // when it says "not enough".
      free = writable(this.readSeen, wr, slots);
      if (free < want) free = writable(this.reloadRead(), wr, slots);
    } else {
      // Another object pushed since (and may have lapped this one's cache): load both, then
      // claim the producer id — after the loads, so that a CORRUPT index leaves nothing marked current.
      wr = this.takeProducer();
      free = writable(this.readSeen, wr, slots);
    }
    const n = Math.min(free, want);
    if (n <= 0) return 0;
    const first = Math.min(slots - wr, n);
    copyIn(elements, offset, this.storage, wr, first);
    copyIn(elements, offset + first, this.storage, 0, n - first);
    this.publishWrite(wr + n < slots ? wr + n : wr + n - slots);
    return n;
  }

  /**
   * Pops up to `length` elements into `elements` at `offset` (default: to the end of
   * `elements`); returns how many. Never blocks, never allocates. Consumer side only.
   */
  pop(elements: TypedArray, length?: number, offset = 0): number {
    const want = count(elements, length, offset);
    const slots = this.slots;
    let rd = this.readMine;
    let ready = 0;
    if (this.ctl[CONSUMER] === this.id) {
      // As in push: the cached write index can only under-state what is ready.
      ready = readable(rd, this.writeSeen, slots);
      if (ready < want) ready = readable(rd, this.reloadWrite(), slots);
    } else {
      rd = this.takeConsumer();
      ready = readable(rd, this.writeSeen, slots);
    }
    const n = Math.min(ready, want);
    if (n <= 0) return 0;
    const first = Math.min(slots - rd, n);
    copyOut(this.storage, rd, elements, offset, first);
    copyOut(this.storage, 0, elements, offset + first, n - first);
    this.publishRead(rd + n < slots ? rd + n : rd + n - slots);
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
    const { wr, n } = this.claim(amount);
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
    const { wr, n } = this.claim(amount);
    if (n <= 0) return 0;
    const first = Math.min(this.slots - wr, n);
    const written = this.clampWritten(cb(this.storage, wr, first, 0, n - first), n);
    this.publishWrite((wr + written) % this.slots);
    return written;
  }

  /** True if empty. Can be late on the consumer side: the producer may just have pushed. */
  empty(): boolean {
    return this.reloadWrite() === this.reloadRead();
  }

  /** True if full. Can be late on the producer side: the consumer may just have popped. */
  full(): boolean {
    return writable(this.reloadRead(), this.reloadWrite(), this.slots) === 0;
  }

  /** Elements the ring can hold. */
  capacity(): number {
    return this.slots - 1;
  }

  /** Elements ready to pop; can be late (the producer may have pushed since). */
  availableRead(): number {
    return readable(this.reloadRead(), this.reloadWrite(), this.slots);
  }

  /** Room for elements to push; can be late (the consumer may have popped since). */
  availableWrite(): number {
    return writable(this.reloadRead(), this.reloadWrite(), this.slots);
  }

  /** ringbuf.js name of availableRead. */
  available_read(): number {
    return this.availableRead();
  }

  /** ringbuf.js name of availableWrite. */
  available_write(): number {
    return this.availableWrite();
  }

  /** writeCallback's common start: the write index and how many elements may be written. */
  private claim(amount: number): { wr: number; n: number } {
    if (amount >>> 0 !== amount)
      invalidArgument(`amount must be a non-negative integer, got ${String(amount)}`);
    const wr = this.ctl[PRODUCER] === this.id ? this.writeMine : this.takeProducer();
    return { wr, n: Math.min(writable(this.reloadRead(), wr, this.slots), amount) };
  }

  /**
   * Becomes the producer: loads the write index (checked) and marks this object's copy current.
   * One producer at a time is the contract, so whatever hands the producer role from one object
   * to another (a message, a lock, program order in one thread) orders this store before the
   * new producer's plain read of the id, and the old producer's next push sees it too.
   */
  private takeProducer(): number {
    this.reloadRead();
    this.writeMine = this.reloadWrite();
    Atomics.store(this.ctl, PRODUCER, this.id);
    return this.writeMine;
  }

  /** Becomes the consumer, as takeProducer: loads both indices, then marks its read index current. */
  private takeConsumer(): number {
    this.reloadWrite();
    this.readMine = this.reloadRead();
    Atomics.store(this.ctl, CONSUMER, this.id);
    return this.readMine;
  }

  // reloadRead/reloadWrite and publishWrite/publishRead are written out twice on purpose: with
  // the word index a constant at each Atomics call, one-thread push+pop measured a few percent
  // faster than through one shared helper taking the index (benchmarks/ring-buffer.ts).

  /** The consumer's index, loaded fresh (acquire: pairs with publishRead) and checked. */
  protected reloadRead(): number {
    const word = Atomics.load(this.ctl, READ);
    const rd = word & ~SLEEPER;
    if (rd >>> 0 >= this.slots) badIndex('read', word, this.slots);
    this.readSeen = rd;
    return rd;
  }

  /** The producer's index, loaded fresh (acquire: pairs with publishWrite) and checked. */
  protected reloadWrite(): number {
    const word = Atomics.load(this.ctl, WRITE);
    const wr = word & ~SLEEPER;
    if (wr >>> 0 >= this.slots) badIndex('write', word, this.slots);
    this.writeSeen = wr;
    return wr;
  }

  /** As in ringbuf.js, a callback returning nothing (or 0) has written everything it was offered. */
  private clampWritten(r: number | undefined | void, n: number): number {
    if (!r) return n;
    if (!Number.isInteger(r) || r < 0 || r > n)
      invalidArgument(`the callback reported ${String(r)} elements written, max ${n}`);
    return r;
  }

  private publishWrite(wr: number): void {
    this.writeMine = wr;
    // release: the elements below the new write index are visible to the consumer's acquire
    // load; the exchange also clears SLEEPER and tells whether a consumer asked for a wake-up.
    if ((Atomics.exchange(this.ctl, WRITE, wr) & SLEEPER) !== 0)
      heapWaiter.notify(this.ctl, WRITE, Number.POSITIVE_INFINITY);
  }

  private publishRead(rd: number): void {
    this.readMine = rd;
    // release: the slots below the new read index may be overwritten by the producer.
    if ((Atomics.exchange(this.ctl, READ, rd) & SLEEPER) !== 0)
      heapWaiter.notify(this.ctl, READ, Number.POSITIVE_INFINITY);
  }
}

/** Elements ready between read index `rd` and write index `wr`, both in [0, slots). */
export function readable(rd: number, wr: number, slots: number): number {
  const d = wr - rd;
  return d < 0 ? d + slots : d;
}

/** Room for elements: one slot always stays empty. */
export function writable(rd: number, wr: number, slots: number): number {
  const d = rd - wr - 1;
  return d < 0 ? d + slots : d;
}

function badIndex(which: string, value: number, slots: number): never {
  throw new ShmkitError(
    'CORRUPT',
    `RingBuffer ${which} index ${value} is outside [0, ${slots}): the shared buffer was overwritten`,
  );
}
