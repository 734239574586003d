/**
 * Builds a struct type's accessors as JavaScript source, compiled once per type with `new Function`:
 * every offset, shift and check is a constant in straight-line code, which V8 compiles to a few
 * loads and stores per field. Where `new Function` is forbidden (a Content-Security-Policy without
 * 'unsafe-eval'), struct() falls back to closures.ts, which does the same work through closures.
 *
 * In the source: M is a Memory (memory.ts), O the struct's byte offset, H the helpers (impl.ts),
 * D the nested struct types (Dep) by index.
 */
import { badExpr } from './checks.js';
import type { Dep, Helpers, Impl } from './impl.js';
import { ARRAY_OF } from './memory.js';
import { type FieldInfo, type Prim, paddingOf } from './schema.js';

/** Arrays up to this length are read with an array literal, longer ones with a loop. */
const INLINE_LIST = 8;

const q = JSON.stringify;

function at(p: Prim, off: string): string {
  const [arr, sh] = ARRAY_OF[p];
  return sh === 0 ? `M.${arr}[${off}]` : `M.${arr}[(${off}) >>> ${sh}]`;
}

function elemAt(p: Prim, off: string, k: string): string {
  const [arr, sh] = ARRAY_OF[p];
  return sh === 0 ? `M.${arr}[${off} + ${k}]` : `M.${arr}[((${off}) >>> ${sh}) + ${k}]`;
}

function store(p: Prim, x: string): string {
  return p === 'bool' ? `(${x} ? 1 : 0)` : x;
}

/** Statements writing value expression `v` of field `f` at byte expression `off`, checking it. */
function encodeStmt(f: FieldInfo, v: string, off: string, what: string, deps: Dep[]): string {
  const e = f.elem;
  if (f.count === 0) {
    if (e.kind === 'prim')
      return `x = ${v}; if (${badExpr(e.prim, 'x')}) H.bad(${what}, ${q(e.prim)}, x); ${at(e.prim, off)} = ${store(e.prim, 'x')};`;
    if (e.kind === 'utf8') return `H.wutf8(M.u8, ${off}, ${e.bytes}, ${e.nullable}, ${v}, ${what});`;
    return `H.enc(D[${deps.indexOf(e.type as unknown as Dep)}], M, ${off}, ${v}, ${what});`;
  }
  const n = f.count;
  let body: string;
  if (e.kind === 'prim') {
    body = `x = a[k]; if (${badExpr(e.prim, 'x')}) H.bad(${what} + '[' + k + ']', ${q(e.prim)}, x); ${elemAt(e.prim, off, 'k')} = ${store(e.prim, 'x')};`;
  } else if (e.kind === 'utf8') {
    body = `H.wutf8(M.u8, ${off} + k * ${e.bytes}, ${e.bytes}, ${e.nullable}, a[k], ${what} + '[' + k + ']');`;
  } else {
    const d = deps.indexOf(e.type as unknown as Dep);
    body = `H.enc(D[${d}], M, ${off} + k * ${e.type.byteLength}, a[k], ${what} + '[' + k + ']');`;
  }
  return `a = ${v}; if (!H.isList(a) || a.length !== ${n}) H.badList(${what}, ${n}, a); for (let k = 0; k < ${n}; k++) { ${body} }`;
}

/** An expression reading field `f` at byte expression `off` as a plain value. */
function decodeExpr(f: FieldInfo, off: string, what: string, deps: Dep[]): string {
  const e = f.elem;
  if (f.count === 0) {
    if (e.kind === 'prim') return e.prim === 'bool' ? `H.rbool(M.u8[${off}], ${what})` : at(e.prim, off);
    if (e.kind === 'utf8') return `H.rutf8(M.u8, ${off}, ${e.bytes}, ${e.nullable}, ${what})`;
    return `D[${deps.indexOf(e.type as unknown as Dep)}].impl.decodeAt(M, ${off})`;
  }
  const n = f.count;
  if (e.kind === 'prim') {
    if (n <= INLINE_LIST) {
      const items: string[] = [];
      for (let k = 0; k < n; k++) {
        const x = elemAt(e.prim, off, String(k));
        items.push(e.prim === 'bool' ? `H.rbool(${x}, ${what})` : x);
      }
      return `[${items.join(', ')}]`;
    }
    const [arr, sh] = ARRAY_OF[e.prim];
    return `H.rlist(M.${arr}, (${off}) >>> ${sh}, ${n}, ${e.prim === 'bool'}, ${what})`;
  }
  if (e.kind === 'utf8') return `H.rutf8list(M.u8, ${off}, ${e.bytes}, ${e.nullable}, ${n}, ${what})`;
  return `H.rstructlist(D[${deps.indexOf(e.type as unknown as Dep)}], M, ${off}, ${n})`;
}

/** Source of the View class's accessors for field `f` (the class body uses this.$m / this.$o). */
function accessors(f: FieldInfo, k: number, what: string, deps: Dep[]): string {
  const e = f.elem;
  const off = `O + ${f.offset}`;
  const pre = 'const M = this.$m, O = this.$o; let x, a;';
  const name = f.name;
  if (f.count === 0 && e.kind !== 'struct') {
    return `get ${name}() { const M = this.$m, O = this.$o; return ${decodeExpr(f, off, what, deps)}; }
  set ${name}(v) { ${pre} ${encodeStmt(f, 'v', off, what, deps)} }`;
  }
  const d = e.kind === 'struct' ? deps.indexOf(e.type as unknown as Dep) : -1;
  let get: string;
  if (f.count === 0) get = `this.$c${k} ??= new D[${d}].impl.View(this.$m, this.$o + ${f.offset})`;
  else if (e.kind === 'prim')
    get = `this.$c${k} ??= new H.TYPED.${e.prim}(this.$m.buffer, this.$o + ${f.offset}, ${f.count})`;
  else if (e.kind === 'struct')
    get = `this.$c${k} ??= D[${d}].arrayAt(this.$m, this.$o + ${f.offset}, ${f.count})`;
  else get = decodeExpr(f, `this.$o + ${f.offset}`, what, deps).replace('M.u8', 'this.$m.u8');
  // Setters of composite fields check the whole value in scratch memory first, then copy: a
  // refused value leaves the field as it was.
  const set = `const S = H.scratchOf(${f.size}); { const M = S, O = -${f.offset}; let x, a; ${encodeStmt(f, 'v', off, what, deps)} } this.$m.u8.set(S.u8.subarray(0, ${f.size}), this.$o + ${f.offset});`;
  return `get ${name}() { return ${get}; }
  set ${name}(v) { ${set} }`;
}

/** Compiles the accessors of a struct with `fields`; throws (EvalError) where eval is forbidden. */
export function generate(
  typeName: string,
  fields: readonly FieldInfo[],
  byteLength: number,
  deps: Dep[],
  h: Helpers,
): Impl {
  const cached = fields
    .map((f, k) => (f.count > 0 || f.elem.kind === 'struct' ? k : -1))
    .filter((k) => k >= 0);
  const what = (f: FieldInfo) => q(`${typeName}.${f.name}`);
  // Padding is zeroed on every encode: a ring reuses its memory, and old bytes must not linger.
  const zeros = paddingOf(fields, byteLength)
    .map(([s, e]) => Array.from({ length: e - s }, (_, k) => `M.u8[O + ${s + k}] = 0;`).join(' '))
    .join(' ');
  const src = `'use strict';
function encodeAt(M, O, v) { let x, a; ${zeros} ${fields.map((f) => encodeStmt(f, `v.${f.name}`, `O + ${f.offset}`, what(f), deps)).join('\n  ')} }
function decodeAt(M, O) { return { ${fields.map((f) => `${f.name}: ${decodeExpr(f, `O + ${f.offset}`, what(f), deps)}`).join(',\n  ')} }; }
class View {
  constructor(m, o) { this.$m = m; this.$o = o; ${cached.map((k) => `this.$c${k} = undefined;`).join(' ')} }
  ${fields.map((f, k) => accessors(f, k, what(f), deps)).join('\n  ')}
  toJSON() { return decodeAt(this.$m, this.$o); }
}
return { encodeAt, decodeAt, View };`;
  return new Function('H', 'D', src)(h, deps) as Impl;
}
