/**
 * struct(): a named-field layout over shared memory, with live views, arrays, atomics on integer
 * fields and a fixed-size Channel codec. See schema.ts for the layout rule.
 */
import { invalidArgument, ShmkitError, validateInteger } from '@shmkit/core';
import { StructArray, type StructArrayHandle } from './array.js';
import { type AtomicOps, makeAtomics } from './atomic.js';
import { closures } from './closures.js';
import { makeCodec, type StructCodec } from './codec.js';
import { generate } from './codegen.js';
import { type Dep, H, type Impl } from './impl.js';
import { type Memory, memoryOf } from './memory.js';
import { type FieldInfo, layOut, layoutHash } from './schema.js';
import type { Schema, StructValue, StructView } from './types.js';

/** How accessors are built: generated source (fastest), closures (CSP-safe), or 'auto'. */
export type Codegen = 'auto' | 'function' | 'closures';

/** Options of struct(). */
export interface StructOptions {
  /** A name for error messages ('Order.price is f64 ...'). Default 'struct'. */
  name?: string;
  /**
   * 'auto' (default): generated code via `new Function`, or closures where a Content-Security-
   * Policy forbids it. 'function' insists on generated code; 'closures' never evaluates source.
   */
  codegen?: Codegen;
}

/** Where a struct lives: a buffer, or a Uint8Array over part of one (for example seg.bytes(...)). */
export type StructTarget = ArrayBufferLike | Uint8Array;

/** A struct type: made by {@link struct}. */
export class StructType<T extends Schema> implements Dep {
  /** The name given in the options (for messages). */
  readonly name: string;
  /** Bytes one struct occupies (a multiple of its alignment). */
  readonly byteLength: number;
  /** The largest field alignment: views and arrays must start at a multiple of it. */
  readonly alignment: number;
  /** The fields in layout order, with their offsets and sizes. */
  readonly fields: readonly FieldInfo[];
  /** Canonical text of the layout (names, types, offsets): equal texts, equal layouts. */
  readonly layoutText: string;
  /** 32-bit hash of layoutText: segments store it to refuse another layout (INCOMPATIBLE). */
  readonly layoutHash: number;
  /** How the accessors were built. */
  readonly codegen: 'function' | 'closures';
  /** Atomic operations on integer fields (see {@link AtomicOps}). */
  readonly atomic: AtomicOps<T>;
  /** @internal */
  readonly impl: Impl;
  #codec: StructCodec<StructValue<T>> | undefined;

  /** @internal use struct() */
  constructor(schema: T, o?: StructOptions) {
    const name = o?.name ?? 'struct';
    if (typeof name !== 'string') invalidArgument('the name option must be a string');
    const mode = o?.codegen ?? 'auto';
    if (mode !== 'auto' && mode !== 'function' && mode !== 'closures') {
      invalidArgument(`codegen must be 'auto', 'function' or 'closures', got ${String(mode)}`);
    }
    const layout = layOut(schema, name);
    this.name = name;
    this.byteLength = layout.byteLength;
    this.alignment = layout.alignment;
    this.fields = layout.fields;
    this.layoutText = layout.layoutText;
    this.layoutHash = layoutHash(layout.layoutText);
    const deps: Dep[] = [];
    for (const f of layout.fields) {
      if (f.elem.kind === 'struct') {
        const d = f.elem.type as unknown as Dep;
        if (!(d instanceof StructType))
          invalidArgument(`${name}.${f.name}: a nested struct is made by struct()`);
        if (!deps.includes(d)) deps.push(d);
      }
    }
    let impl: Impl | undefined;
    let used: 'function' | 'closures' = 'closures';
    if (mode !== 'closures') {
      try {
        impl = generate(name, layout.fields, layout.byteLength, deps, H);
        used = 'function';
      } catch (e) {
        // EvalError: a Content-Security-Policy forbids new Function. Anything else is a bug.
        if (mode === 'function' || !(e instanceof EvalError)) {
          throw new ShmkitError('UNSUPPORTED', `cannot generate accessors: ${String(e)}`, { cause: e });
        }
      }
    }
    this.impl = impl ?? closures(name, layout.fields, layout.byteLength, H);
    this.codegen = used;
    this.atomic = makeAtomics(this);
  }

  /**
   * A live view of the struct at `byteOffset` of `target`: reading a field reads the memory,
   * assigning writes it (checked: INVALID_ARGUMENT for a value the field cannot hold exactly).
   * Plain reads and writes are not atomic across threads; use `T.atomic` on integer fields.
   *
   * @example
   * ```ts
   * const v = Order.view(new SharedArrayBuffer(Order.byteLength));
   * v.price = 9.5; v.levels[2] = 1;    // another thread's view of the same buffer sees both
   * ```
   */
  view(target: StructTarget, byteOffset = 0): StructView<T> {
    const [m, o] = this.place(target, byteOffset, 1);
    return new this.impl.View(m, o) as StructView<T>;
  }

  /** `length` structs back to back from `byteOffset` of `target`. */
  array(target: StructTarget, byteOffset: number, length: number): StructArray<T> {
    validateInteger(length, 'length', 0, 2 ** 31);
    const [m, o] = this.place(target, byteOffset, length);
    return new StructArray(this, m, o, length);
  }

  /**
   * `length` zeroed structs (default 1) over a new SharedArrayBuffer (an ArrayBuffer where
   * SharedArrayBuffer is unavailable: browsers without cross-origin isolation).
   */
  alloc(length = 1): StructArray<T> {
    validateInteger(length, 'length', 0, Math.floor(2 ** 31 / Math.max(1, this.byteLength)));
    const bytes = Math.max(8, length * this.byteLength);
    const buf =
      typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    return new StructArray(this, memoryOf(buf), 0, length);
  }

  /** Re-attaches a StructArray posted as `array.handle`; INCOMPATIBLE when its layout differs. */
  from(handle: StructArrayHandle): StructArray<T> {
    if (typeof handle !== 'object' || handle === null || handle.type !== 'StructArray') {
      invalidArgument('not a StructArray handle');
    }
    if (handle.layoutHash !== this.layoutHash) {
      throw new ShmkitError(
        'INCOMPATIBLE',
        `this handle is for a struct with layout hash ${handle.layoutHash}, ${this.name} has ${this.layoutHash}`,
      );
    }
    return this.array(handle.buffer, handle.byteOffset, handle.length);
  }

  /** Copies the struct behind `view` out as a plain value. */
  read(view: StructView<T>): StructValue<T> {
    const v = this.own(view);
    return this.impl.decodeAt(v.$m, v.$o) as StructValue<T>;
  }

  /** Writes every field of `value` into `view`: all checked first, so a refused value changes nothing. */
  write(view: StructView<T>, value: StructValue<T>): void {
    const v = this.own(view);
    this.assignAt(v.$m, v.$o, value, this.name);
  }

  /**
   * A codec for Channel: every message is one struct, written straight into the ring and read
   * straight out of it. Both ends need the same type: `Channel.from(handle, { codec: T.codec })`.
   *
   * @example
   * ```ts
   * const ch = new Channel({ codec: Order.codec });
   * ch.send({ id: 1, qty: 5, price: 9.5, side: 0, ts: 0n, symbol: 'ACME', levels: [0, 0, 0, 0] });
   * ```
   */
  get codec(): StructCodec<StructValue<T>> {
    this.#codec ??= makeCodec(this) as StructCodec<StructValue<T>>;
    return this.#codec;
  }

  /** @internal Checks `x` in full (in scratch memory), then copies it to byte `o` of `m`. */
  assignAt(m: Memory, o: number, x: unknown, what: string): void {
    if (typeof x !== 'object' || x === null) H.badObject(what, x);
    const s = H.scratchOf(this.byteLength);
    this.impl.encodeAt(s, 0, x);
    m.u8.set(s.u8.subarray(0, this.byteLength), o);
  }

  /** @internal */
  arrayAt(m: Memory, o: number, n: number): unknown {
    return new StructArray(this, m, o, n);
  }

  /** @internal The memory and offset behind one of this type's views. */
  own(view: unknown): { $m: Memory; $o: number } {
    if (!(view instanceof this.impl.View)) invalidArgument(`not a view of ${this.name}`);
    return view as unknown as { $m: Memory; $o: number };
  }

  private place(target: StructTarget, byteOffset: number, count: number): [Memory, number] {
    let buffer: ArrayBufferLike;
    let base = 0;
    let limit: number;
    if (target instanceof Uint8Array) {
      buffer = target.buffer;
      base = target.byteOffset;
      limit = target.byteLength;
    } else {
      buffer = target;
      limit = (target as ArrayBufferLike)?.byteLength;
    }
    const m = memoryOf(buffer);
    validateInteger(byteOffset, 'byteOffset', 0, limit);
    const o = base + byteOffset;
    if (o % this.alignment !== 0) {
      invalidArgument(`${this.name} must start at a multiple of ${this.alignment} bytes, got offset ${o}`);
    }
    if (byteOffset + count * this.byteLength > limit) {
      invalidArgument(
        `${count} x ${this.name} (${count * this.byteLength} bytes) from offset ${byteOffset} does not fit in ${limit} bytes`,
      );
    }
    return [m, o];
  }
}

/**
 * Defines a struct type: named fields at fixed, documented offsets (docs/struct.md, "Layout").
 * Types: i8 u8 i16 u16 i32 u32 f32 f64, i64 u64 (bigint), bool, 'utf8:N' (at most N UTF-8 bytes;
 * 'utf8:N?' also holds null), 'T[N]' or [T, N] (fixed arrays), and nested struct types.
 *
 * @example
 * ```ts
 * const Order = struct({ id: 'u32', qty: 'i32', price: 'f64', symbol: 'utf8:12', levels: 'f64[4]' });
 * const orders = Order.alloc(100);      // over a SharedArrayBuffer: post orders.handle to a worker
 * orders.at(0).price = 101.5;
 * Order.atomic.add(orders.at(0), 'qty', 10);
 * ```
 */
export function struct<const T extends Schema>(schema: T, o?: StructOptions): StructType<T> {
  return new StructType(schema, o);
}
