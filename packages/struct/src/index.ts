export { StructArray, type StructArrayHandle } from './array.js';
export type { AtomicOps } from './atomic.js';
export type { StructCodec } from './codec.js';
export type { ElemType, FieldInfo, Prim } from './schema.js';
export { type Codegen, type StructOptions, type StructTarget, StructType, struct } from './struct.js';
export type { FieldSpec, FieldValue, Schema, StructValue, StructView } from './types.js';
