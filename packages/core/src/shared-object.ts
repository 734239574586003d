import type { AsyncWaitOptions, Deadline } from './deadline.js';
import { invalidArgument, ShmkitError } from './errors.js';
import type { Identity } from './identity.js';
import { TAG_KIND_MASK, tagName, tagVersion } from './layout.js';
import { Region } from './region.js';
import { runBlocking, type WaitSteps, waitStepsAsync } from './wait-steps.js';
import type { MemoryKindName, Waiter } from './waiter.js';

/**
 * What `x.handle` returns: plain data that survives structured clone, so it can be posted to a
 * worker and re-attached there with `X.from(handle)`. The SharedArrayBuffer is shared, not copied.
 */
export interface Handle {
  readonly type: string;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly waiter: MemoryKindName;
}

/**
 * Word 0 of every shared object holds its type tag. RingBuffer (in @shmkit/channel, not a
 * SharedObject) keeps the rule with one difference: its tag is written by its allocator,
 * RingBuffer.getStorageForCapacity, since every one of its constructors attaches (ringbuf.js's
 * contract); see docs/format.md.
 */
export const TAG_INDEX = 0;

const BIND = Symbol('shmkit.bind');

/**
 * Base of every primitive and channel: the region it lives in, the word view, the waiter and
 * identity of that region, and the handle. Subclasses add the algorithm.
 */
export abstract class SharedObject {
  protected region!: Region;
  protected i32!: Int32Array;
  protected waiter!: Waiter;
  protected identity!: Identity;

  /** The type name carried in handles ("Mutex"). */
  protected abstract get typeName(): string;

  /** @internal Connects this object to its memory; used by constructors and attach(). */
  [BIND](region: Region): void {
    this.region = region;
    this.i32 = region.int32();
    this.waiter = region.waiter;
    this.identity = region.identity;
  }

  /** A structured-clonable reference to this object: post it to a worker, then `X.from(handle)`. */
  get handle(): Handle {
    return {
      type: this.typeName,
      buffer: this.region.buffer,
      byteOffset: this.region.byteOffset,
      byteLength: this.region.byteLength,
      waiter: this.region.kind,
    };
  }

  /** The memory this object lives in. */
  get memory(): Region {
    return this.region;
  }

  /** Runs `steps` to the end, sleeping on this object's words with its waiter (blocking). */
  protected runSteps<T>(steps: WaitSteps<T>): T {
    return runBlocking(steps, this.waiter, this.i32);
  }

  /**
   * The async entry of a wait on this object's words: {@link waitStepsAsync} with its waiter.
   * Validates `o`, builds the steps for its deadline, rejects with ABORTED if the signal has
   * fired, then awaits them; `ready`, a lock-free attempt, settles an uncontended wait first.
   */
  protected runStepsAsync(
    o: AsyncWaitOptions | undefined,
    build: (deadline: Deadline) => WaitSteps<void>,
    ready: () => boolean,
  ): Promise<void>;
  protected runStepsAsync<T>(
    o: AsyncWaitOptions | undefined,
    build: (deadline: Deadline) => WaitSteps<T>,
  ): Promise<T>;
  protected runStepsAsync<T>(
    o: AsyncWaitOptions | undefined,
    build: (deadline: Deadline) => WaitSteps<T>,
    ready?: () => boolean,
  ): Promise<T> {
    return ready === undefined
      ? waitStepsAsync(this.waiter, this.i32, o, build)
      : (waitStepsAsync(
          this.waiter,
          this.i32,
          o,
          build as (d: Deadline) => WaitSteps<void>,
          ready,
        ) as Promise<T>);
  }
}

/**
 * For constructors: takes the caller's region (checked to be large enough) or allocates one,
 * and binds `obj` to it. Returns the region so the caller can write the initial state.
 */
export function bindNew(obj: SharedObject, size: number, region: Region | undefined): Region {
  if (region !== undefined) {
    if (!(region instanceof Region)) invalidArgument('region must be a Region');
    if (region.byteLength < size) invalidArgument(`region of ${region.byteLength} bytes < ${size} needed`);
  }
  const r = region ?? Region.allocate(size);
  obj[BIND](r);
  return r;
}

/**
 * Attaches to an object that already lives in `region`: checks the type tag, then creates the
 * wrapper without running the constructor (which would re-initialize shared state).
 */
export function attach<T extends SharedObject>(
  cls: abstract new (...args: never[]) => T,
  region: Region,
  tag: number,
  size: number,
  typeName: string,
): T {
  if (region.byteLength < size) {
    throw new ShmkitError(
      'INCOMPATIBLE',
      `a ${typeName} needs ${size} bytes, the region has ${region.byteLength}`,
    );
  }
  // acquire: pairs with publishTag; the object's initial state was written before its tag.
  const found = Atomics.load(region.int32(), TAG_INDEX);
  if (found !== tag) throw tagMismatch(found, tag, typeName);
  const obj = Object.create(cls.prototype) as T;
  obj[BIND](region);
  return obj;
}

/** Validates a handle from another thread (untrusted input) and returns its region. */
export function regionFromHandle(handle: unknown, typeName: string): Region {
  if (typeof handle !== 'object' || handle === null)
    invalidArgument(`${typeName}.from needs a handle object`);
  const h = handle as Partial<Handle>;
  if (typeof h.type !== 'string') invalidArgument('not a shmkit handle (no type)');
  if (h.type !== typeName) {
    throw new ShmkitError('INCOMPATIBLE', `this handle is for a ${h.type}, not a ${typeName}`);
  }
  if (!(h.buffer instanceof SharedArrayBuffer)) invalidArgument('handle.buffer must be a SharedArrayBuffer');
  if (h.waiter !== 'heap' && h.waiter !== 'futex') invalidArgument('handle.waiter must be "heap" or "futex"');
  if (typeof h.byteOffset !== 'number' || typeof h.byteLength !== 'number') {
    invalidArgument('handle.byteOffset and byteLength must be numbers');
  }
  return new Region(h.buffer, h.byteOffset, h.byteLength, h.waiter);
}

/**
 * Why the tag word `found` is not `expected`, as the error attaching reports. Three cases a caller
 * can act on differently (as iceoryx2 tells them apart): 0 is memory not initialised yet (or not
 * an object at all); the same kind with another version byte is an object of another shmkit
 * release; anything else is another kind, or not a shmkit object.
 */
export function tagMismatch(found: number, expected: number, typeName: string): ShmkitError {
  if (found === 0) {
    return new ShmkitError(
      'INCOMPATIBLE',
      `no ${typeName} at this location: not initialised yet (its type tag is still 0)`,
    );
  }
  if ((found & TAG_KIND_MASK) === (expected & TAG_KIND_MASK)) {
    return new ShmkitError(
      'INCOMPATIBLE',
      `this ${typeName} has layout version ${tagVersion(found)}; this shmkit reads version ${tagVersion(expected)}`,
    );
  }
  const what = tagName(found);
  return new ShmkitError(
    'INCOMPATIBLE',
    what === undefined
      ? `no ${typeName} at this location (type tag 0x${(found >>> 0).toString(16)})`
      : `this handle points at a ${what}, not a ${typeName}`,
  );
}

/** Writes the type tag last, after the initial state, so a concurrent attach sees a whole object. */
export function publishTag(region: Region, tag: number): void {
  // release: the object's initial state, stored before, is visible to whoever loads this tag.
  Atomics.store(region.int32(), TAG_INDEX, tag);
}
