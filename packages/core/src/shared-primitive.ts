/**
 * SharedPrimitive: the plumbing every fixed-size shared object repeats, written once. A subclass
 * declares its byte size and type tag as statics (`SIZE`, `TAG`) and writes its algorithm; this
 * class gives it `X.from(handle)`, `X.attach(region)`, the type name carried in handles (the name
 * its tag was registered under with defineTag) and, for its constructor, placing the object in a
 * region and publishing the tag last. docs/architecture.md, "Shared objects", describes the four
 * ways in; Channel has a variable size and options of its own, so it extends SharedObject instead.
 */
import { ShmkitError } from './errors.js';
import { tagName } from './layout.js';
import type { Region } from './region.js';
import { attach, bindNew, type Handle, publishTag, regionFromHandle, SharedObject } from './shared-object.js';

/** The static side SharedPrimitive's statics read: a constructor with the kind's size and tag. */
export type PrimitiveClass<T> = (abstract new (
  ...args: never[]
) => T) & {
  readonly SIZE: number;
  readonly TAG: number;
};

/**
 * Base of the fixed-size primitives (Mutex, Condition, Semaphore, RwLock, Barrier, Latch).
 *
 * @example
 * ```ts fragment
 * const FLAG_TAG = defineTag('fl', 'Flag', 1);
 * class Flag extends SharedPrimitive {
 *   static readonly SIZE = 8;
 *   static readonly TAG = FLAG_TAG;
 *   constructor(o?: { region?: Region }) {
 *     super(o?.region);                  // places it: the given region or a fresh heap one
 *     Atomics.store(this.i32, 1, 0);     // the initial state...
 *     this.publish();                    // ...then the tag, last
 *   }
 * }
 * const f = Flag.from(new Flag().handle); // typed Flag
 * ```
 */
export abstract class SharedPrimitive extends SharedObject {
  /**
   * Places the object in `region` (INVALID_ARGUMENT unless it holds the subclass's SIZE bytes)
   * or in a fresh zeroed heap region. The subclass then writes its initial state and calls
   * {@link publish}.
   */
  constructor(region: Region | undefined) {
    super();
    bindNew(this, kindOf(new.target).SIZE, region);
  }

  /**
   * Re-attaches, in this thread, to the object behind `handle` (a `x.handle` posted from another
   * thread). INVALID_ARGUMENT for something that is not a handle; INCOMPATIBLE for a handle of
   * another type, or memory that does not hold this kind at this layout version. Call it on the
   * class (`Mutex.from(h)`): it reads the class's SIZE and TAG.
   */
  static from<T extends SharedPrimitive>(this: PrimitiveClass<T>, handle: Handle): T {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass called (Mutex.from), on purpose
    return attachAs(this, regionFromHandle(handle, typeNameOf(this)));
  }

  /**
   * Attaches to an object already initialised in `region`, without writing to it: checks the
   * size and the type tag (INCOMPATIBLE), then wraps the memory. Call it on the class.
   */
  static attach<T extends SharedPrimitive>(this: PrimitiveClass<T>, region: Region): T {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass called (Mutex.attach), on purpose
    return attachAs(this, region);
  }

  protected get typeName(): string {
    return typeNameOf(kindOf(this.constructor));
  }

  /** For constructors, last: publishes the type tag once the initial state is written. */
  protected publish(): void {
    publishTag(this.region, kindOf(this.constructor).TAG);
  }
}

function attachAs<T extends SharedPrimitive>(cls: PrimitiveClass<T>, region: Region): T {
  const k = kindOf(cls);
  return attach(cls, region, k.TAG, k.SIZE, typeNameOf(k));
}

/** The class's statics; a clear error for `const f = Mutex.from; f(h)`, which loses the class. */
function kindOf(cls: unknown): PrimitiveClass<SharedPrimitive> {
  const k = cls as PrimitiveClass<SharedPrimitive> | undefined;
  if (typeof k?.SIZE !== 'number' || typeof k.TAG !== 'number') {
    throw new ShmkitError(
      'INVALID_ARGUMENT',
      'call from/attach on the class (Mutex.from(h)); a SharedPrimitive subclass declares static SIZE and TAG',
    );
  }
  return k;
}

function typeNameOf(cls: unknown): string {
  const name = tagName(kindOf(cls).TAG);
  if (name === undefined) {
    throw new ShmkitError('INVALID_ARGUMENT', 'a SharedPrimitive TAG is made by defineTag');
  }
  return name;
}
