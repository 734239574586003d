/**
 * The accessors of a struct type built from closures instead of generated source: the fallback
 * for pages whose Content-Security-Policy forbids `new Function`, and a second implementation the
 * property tests hold against the generated one. Same layout, checks and results; slower, since
 * each field goes through a generic reader/writer instead of constants in straight-line code.
 */
import { IS_BAD } from './checks.js';
import { type Dep, type Helpers, type Impl, TYPED } from './impl.js';
import { ARRAY_OF, type Memory } from './memory.js';
import { type FieldInfo, type Prim, paddingOf } from './schema.js';

type Reader = (m: Memory, o: number) => unknown;
type Writer = (m: Memory, o: number, v: unknown) => void;

function primReader(p: Prim, what: string, h: Helpers): (m: Memory, i: number) => unknown {
  const [arr] = ARRAY_OF[p];
  if (p === 'bool') return (m, i) => h.rbool(m.u8[i]!, what);
  return (m, i) => (m[arr] as ArrayLike<unknown>)[i];
}

function primWriter(p: Prim, h: Helpers): (m: Memory, i: number, x: unknown, what: string) => void {
  const [arr] = ARRAY_OF[p];
  const bad = IS_BAD[p];
  return (m, i, x, what) => {
    if (bad(x)) h.bad(what, p, x);
    (m[arr] as unknown as Record<number, unknown>)[i] = p === 'bool' ? (x ? 1 : 0) : x;
  };
}

function fieldReader(f: FieldInfo, what: string, h: Helpers): Reader {
  const e = f.elem;
  const off = f.offset;
  if (e.kind === 'prim') {
    const sh = ARRAY_OF[e.prim][1];
    const read = primReader(e.prim, what, h);
    if (f.count === 0) return (m, o) => read(m, (o + off) >>> sh);
    const n = f.count;
    return (m, o) => {
      const base = (o + off) >>> sh;
      const out = new Array<unknown>(n);
      for (let k = 0; k < n; k++) out[k] = read(m, base + k);
      return out;
    };
  }
  if (e.kind === 'utf8') {
    if (f.count === 0) return (m, o) => h.rutf8(m.u8, o + off, e.bytes, e.nullable, what);
    return (m, o) => h.rutf8list(m.u8, o + off, e.bytes, e.nullable, f.count, what);
  }
  const d = e.type as unknown as Dep;
  if (f.count === 0) return (m, o) => d.impl.decodeAt(m, o + off);
  return (m, o) => h.rstructlist(d, m, o + off, f.count);
}

function fieldWriter(f: FieldInfo, what: string, h: Helpers): Writer {
  const e = f.elem;
  const off = f.offset;
  let one: (m: Memory, at: number, x: unknown, what: string) => void;
  let step: number;
  if (e.kind === 'prim') {
    const sh = ARRAY_OF[e.prim][1];
    const write = primWriter(e.prim, h);
    one = (m, at, x, w) => write(m, at >>> sh, x, w);
    step = 1 << sh;
  } else if (e.kind === 'utf8') {
    one = (m, at, x, w) => h.wutf8(m.u8, at, e.bytes, e.nullable, x, w);
    step = e.bytes;
  } else {
    const d = e.type as unknown as Dep;
    one = (m, at, x, w) => h.enc(d, m, at, x, w);
    step = d.byteLength;
  }
  if (f.count === 0) return (m, o, v) => one(m, o + off, v, what);
  const n = f.count;
  return (m, o, a) => {
    if (!h.isList(a) || (a as ArrayLike<unknown>).length !== n) h.badList(what, n, a);
    for (let k = 0; k < n; k++) one(m, o + off + k * step, (a as ArrayLike<unknown>)[k], `${what}[${k}]`);
  };
}

/** Builds the accessors of a struct with `fields` from closures. */
export function closures(
  typeName: string,
  fields: readonly FieldInfo[],
  byteLength: number,
  h: Helpers,
): Impl {
  const gaps = paddingOf(fields, byteLength);
  const names = fields.map((f) => f.name);
  const readers = fields.map((f) => fieldReader(f, `${typeName}.${f.name}`, h));
  const writers = fields.map((f) => fieldWriter(f, `${typeName}.${f.name}`, h));
  const count = fields.length;
  const encodeAt = (m: Memory, o: number, v: unknown): void => {
    const r = v as Record<string, unknown>;
    for (const [s, e] of gaps) m.u8.fill(0, o + s, o + e);
    for (let k = 0; k < count; k++) writers[k]!(m, o, r[names[k]!]);
  };
  const decodeAt = (m: Memory, o: number): unknown => {
    const out: Record<string, unknown> = {};
    for (let k = 0; k < count; k++) out[names[k]!] = readers[k]!(m, o);
    return out;
  };
  class View {
    $m: Memory;
    $o: number;
    $c: unknown[];
    constructor(m: Memory, o: number) {
      this.$m = m;
      this.$o = o;
      this.$c = new Array(count);
    }
    toJSON(): unknown {
      return decodeAt(this.$m, this.$o);
    }
  }
  fields.forEach((f, k) => {
    const e = f.elem;
    const simple = f.count === 0 && e.kind !== 'struct';
    let get: (this: View) => unknown;
    if (simple || (e.kind === 'utf8' && f.count > 0)) {
      const read = readers[k]!;
      get = function (this: View) {
        return read(this.$m, this.$o);
      };
    } else {
      const make =
        e.kind === 'prim'
          ? (v: View) => new TYPED[e.prim](v.$m.buffer, v.$o + f.offset, f.count)
          : e.kind === 'struct' && f.count === 0
            ? (v: View) => new (e.type as unknown as Dep).impl.View(v.$m, v.$o + f.offset)
            : (v: View) => ((e as { type: unknown }).type as Dep).arrayAt(v.$m, v.$o + f.offset, f.count);
      get = function (this: View) {
        let c = this.$c[k];
        if (c === undefined) c = this.$c[k] = make(this);
        return c;
      };
    }
    const write = writers[k]!;
    const set = simple
      ? function (this: View, v: unknown) {
          write(this.$m, this.$o, v);
        }
      : function (this: View, v: unknown) {
          // Check the whole value in scratch memory first: a refused value changes nothing.
          const s = h.scratchOf(f.size);
          write(s, -f.offset, v);
          this.$m.u8.set(s.u8.subarray(0, f.size), this.$o + f.offset);
        };
    Object.defineProperty(View.prototype, f.name, { get, set, enumerable: true, configurable: false });
  });
  return { encodeAt, decodeAt, View };
}
