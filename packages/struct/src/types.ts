/**
 * Compile-time types of struct schemas: what a field spec reads as, in a plain value and in a view.
 * (Runtime checks live in checks.ts; these only make `Order.view(buf).price` a number to tsc.)
 */
import type { StructArray } from './array.js';
import type { StructType } from './struct.js';

type IntPrim = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'f32' | 'f64';
type BigPrim = 'i64' | 'u64';

/** A field type: a scalar name, 'utf8:N', 'utf8:N?', 'T[N]', a nested struct, or [T, N]. */
export type FieldSpec =
  | IntPrim
  | BigPrim
  | 'bool'
  | `utf8:${number}`
  | `utf8:${number}?`
  | `${string}[${number}]`
  // biome-ignore lint/suspicious/noExplicitAny: any struct type nests
  | StructType<any>
  // biome-ignore lint/suspicious/noExplicitAny: any element type
  | readonly [any, number];

/** A schema: field names to field types, in layout order. */
export type Schema = { readonly [name: string]: FieldSpec };

/** The plain JS value of one element type. */
type ElemValue<S> = S extends BigPrim
  ? bigint
  : S extends 'bool'
    ? boolean
    : S extends IntPrim
      ? number
      : S extends `utf8:${number}?`
        ? string | null
        : S extends `utf8:${number}`
          ? string
          : S extends StructType<infer T>
            ? StructValue<T>
            : never;

/** The plain JS value of a field. */
export type FieldValue<S> = S extends readonly [infer E, number]
  ? ElemValue<E>[]
  : S extends `${infer E}[${number}]`
    ? ElemValue<E>[]
    : ElemValue<S>;

/** The plain object a struct encodes and decodes: `Order.codec` sends these. */
export type StructValue<T extends Schema> = { -readonly [K in keyof T]: FieldValue<T[K]> };

type TypedOf<E> = E extends 'i8'
  ? Int8Array
  : E extends 'u8' | 'bool'
    ? Uint8Array
    : E extends 'i16'
      ? Int16Array
      : E extends 'u16'
        ? Uint16Array
        : E extends 'i32'
          ? Int32Array
          : E extends 'u32'
            ? Uint32Array
            : E extends 'f32'
              ? Float32Array
              : E extends 'f64'
                ? Float64Array
                : E extends 'i64'
                  ? BigInt64Array
                  : E extends 'u64'
                    ? BigUint64Array
                    : E extends StructType<infer T>
                      ? StructArray<T>
                      : (string | null)[];

/** What a view's accessor of field type S returns. */
type ViewField<S> = S extends readonly [infer E, number]
  ? TypedOf<E>
  : S extends `${infer E}[${number}]`
    ? TypedOf<E>
    : S extends StructType<infer T>
      ? StructView<T>
      : ElemValue<S>;

/**
 * A live view: reading a property reads shared memory, assigning writes it (checked). Array fields
 * read as live typed arrays (or a StructArray); nested structs as nested views. `toJSON()` copies
 * the whole struct out as a plain value.
 */
export type StructView<T extends Schema> = { -readonly [K in keyof T]: ViewField<T[K]> } & {
  toJSON(): StructValue<T>;
};
