import { Channel } from '@shmkit/channel';
import { alignUp } from '@shmkit/core';
import { type Schema, type StructType, struct } from '@shmkit/struct';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import { canon, type FieldGen, makeType, primValue, schemaGen, valuesFor } from './arbitraries.js';

const RUNS = Number(process.env.SHMKIT_PROPERTY_RUNS ?? 150);
const cases = schemaGen().chain((fields) =>
  fc.tuple(fc.constant(fields), fc.array(valuesFor(fields), { minLength: 1, maxLength: 4 })),
);

/** The layout rule, written again independently of schema.ts: [size, alignment] of a spec. */
function sizeAlign(spec: unknown): [number, number] {
  if (Array.isArray(spec)) {
    const [s, a] = sizeAlign(spec[0]);
    return [s * (spec[1] as number), a];
  }
  if (typeof spec === 'string') {
    const arr = /^(.+)\[(\d+)\]$/.exec(spec);
    if (arr) {
      const [s, a] = sizeAlign(arr[1]);
      return [s * Number(arr[2]), a];
    }
    const u = /^utf8:(\d+)\??$/.exec(spec);
    if (u) return [Number(u[1]), 1];
    const n = { i8: 1, u8: 1, bool: 1, i16: 2, u16: 2, i32: 4, u32: 4, f32: 4, i64: 8, u64: 8, f64: 8 }[
      spec
    ]!;
    return [n, n];
  }
  const t = spec as StructType<Schema>;
  let off = 0;
  let align = 1;
  for (const f of t.fields) {
    const [s, a] = sizeAlign(f.typeText.startsWith('{') ? specOfField(t, f.name) : f.typeText);
    off = Math.ceil(off / a) * a + s;
    align = Math.max(align, a);
  }
  return [Math.ceil(off / align) * align, align];
}
/** Nested fields are re-derived from the generator's specs, kept on the type by the test below. */
const nestedSpecs = new WeakMap<object, Record<string, unknown>>();
function specOfField(t: object, name: string): unknown {
  return nestedSpecs.get(t)![name];
}

function remember(fields: FieldGen[]): void {
  const t = makeType(fields);
  const rec: Record<string, unknown> = {};
  for (const f of fields) {
    rec[f.name] = f.spec;
    const inner = Array.isArray(f.spec) ? f.spec[0] : f.spec;
    if (typeof inner === 'object' && inner !== null && !nestedSpecs.has(inner)) {
      // A nested type made by the generator: its own fields carry typeText only; rebuild from that.
      const n = inner as StructType<Schema>;
      const r: Record<string, unknown> = {};
      for (const g of n.fields) r[g.name] = g.typeText;
      nestedSpecs.set(n, r);
    }
  }
  nestedSpecs.set(t, rec);
}

describe('struct layout', () => {
  it('places every field by the documented rule (fast-check)', () => {
    fc.assert(
      fc.property(schemaGen(), (fields) => {
        remember(fields);
        const t = makeType(fields);
        let off = 0;
        let align = 1;
        fields.forEach((f, i) => {
          const [s, a] = sizeAlign(f.spec);
          off = Math.ceil(off / a) * a;
          expect(t.fields[i]!.offset).toBe(off);
          expect(t.fields[i]!.size).toBe(s);
          off += s;
          align = Math.max(align, a);
        });
        expect(t.alignment).toBe(align);
        expect(t.byteLength).toBe(Math.ceil(off / align) * align);
      }),
      { numRuns: RUNS },
    );
  });

  it('lays out the contract example as docs/struct.md shows', () => {
    const schema = {
      id: 'u32',
      qty: 'i32',
      price: 'f64',
      side: 'u8',
      ts: 'i64',
      symbol: 'utf8:12',
      levels: 'f64[4]',
    } as const;
    const Order = struct(schema);
    expect(Order.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['id', 0, 4],
      ['qty', 4, 4],
      ['price', 8, 8],
      ['side', 16, 1],
      ['ts', 24, 8],
      ['symbol', 32, 12],
      ['levels', 48, 32],
    ]);
    expect(Order.byteLength).toBe(80);
    expect(Order.alignment).toBe(8);
    // The same schema written again (a new object) hashes the same.
    expect(Order.layoutHash).toBe(struct({ ...schema }).layoutHash);
    expect(struct({ id: 'u32', qty: 'u32' }).layoutHash).not.toBe(
      struct({ id: 'u32', qty: 'i32' }).layoutHash,
    );
    expect(struct({ a: 'u32', b: 'u32' }).layoutHash).not.toBe(struct({ b: 'u32', a: 'u32' }).layoutHash);
  });

  it('refuses bad schemas with INVALID_ARGUMENT', () => {
    for (const s of [
      { a: 'u33' },
      { a: 'utf8:0' },
      { a: 'f64[0]' },
      { 'a-b': 'u8' },
      { $x: 'u8' },
      { toJSON: 'u8' },
      { a: 5 },
      { a: ['u8', 1.5] },
      { a: 'f64[2][2]' },
    ]) {
      expect(
        codeOf(() => struct(s as never)),
        JSON.stringify(s),
      ).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => struct([] as never))).toBe('INVALID_ARGUMENT');
  });
});

describe('struct round trips', () => {
  it('reads back through views, the codec and closures exactly what was written (fast-check)', () => {
    fc.assert(
      fc.property(cases, ([fields, values]) => {
        const t = makeType(fields);
        const c = makeType(fields, { codegen: 'closures' });
        expect(t.codegen).toBe('function');
        expect(c.codegen).toBe('closures');
        expect(c.layoutHash).toBe(t.layoutHash);
        const arr = t.alloc(values.length);
        const arrC = c.array(arr.buffer, 0, values.length);
        values.forEach((v, i) => {
          // Field by field through the view's setters.
          const view = arr.at(i) as unknown as Record<string, unknown>;
          for (const f of fields) view[f.name] = v[f.name];
          expect(canon((view.toJSON as () => unknown)())).toBe(canon(v));
          expect(canon(arrC.at(i).toJSON())).toBe(canon(v));
          // Whole value through the codec: same bytes from both builds, same value back.
          const bytes = t.codec.encode(v as never).slice();
          expect(Array.from(c.codec.encode(v as never))).toEqual(Array.from(bytes));
          expect(Array.from(bytes)).toEqual(
            Array.from(new Uint8Array(arr.buffer, i * t.byteLength, t.byteLength)),
          );
          expect(canon(t.codec.decode(bytes))).toBe(canon(v));
          expect(canon(c.codec.decode(bytes))).toBe(canon(v));
          // Misaligned destinations and sources take the copying path.
          const odd = new Uint8Array(t.byteLength + 3);
          expect(t.codec.encodeInto(v as never, odd.subarray(1))).toBe(t.byteLength);
          expect(canon(t.codec.decodeAt(odd, 1, 1 + t.byteLength))).toBe(canon(v));
          // T.write / T.read.
          const fresh = t.alloc(1).at(0);
          t.write(fresh, v as never);
          expect(canon(t.read(fresh))).toBe(canon(v));
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('carries random structs through a Channel with the struct codec (fast-check)', () => {
    fc.assert(
      fc.property(cases, ([fields, values]) => {
        const t = makeType(fields);
        // One thread sends and receives: the ring must hold every frame (16-byte header, 16-byte
        // padding), or the blocking send would wait for a receiver that never runs. The timeouts
        // turn any mistake in that sum into a failure instead of a hang.
        const frames = values.length * (alignUp(t.byteLength, 16) + 16);
        const ch = new Channel({
          codec: t.codec,
          capacity: Math.max(1 << 12, 2 ** Math.ceil(Math.log2(frames * 2))),
        });
        const rx = Channel.from(ch.handle, { codec: t.codec });
        for (const v of values) ch.send(v as never, { timeout: 1000 });
        for (const v of values) expect(canon(rx.recv({ timeout: 1000 }))).toBe(canon(v));
        expect(rx.tryRecv()).toBeUndefined();
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it('refuses out-of-range and wrong-typed values, leaving memory as it was (fast-check)', () => {
    const bad: Record<string, fc.Arbitrary<unknown>> = {
      i8: fc.oneof(fc.integer({ min: 128, max: 1e6 }), fc.integer({ min: -1e6, max: -129 })),
      u8: fc.oneof(fc.integer({ min: 256, max: 1e6 }), fc.integer({ min: -1e6, max: -1 })),
      i16: fc.oneof(fc.integer({ min: 32768, max: 1e7 }), fc.integer({ min: -1e7, max: -32769 })),
      u16: fc.oneof(fc.integer({ min: 65536, max: 1e7 }), fc.integer({ min: -1e7, max: -1 })),
      i32: fc.oneof(
        fc.double({ min: 2 ** 31, max: 1e300, noNaN: true }),
        fc.double({ min: -1e300, max: -(2 ** 31) - 1, noNaN: true }),
      ),
      u32: fc.oneof(fc.double({ min: 2 ** 32, max: 1e300, noNaN: true }), fc.integer({ min: -1e6, max: -1 })),
      i64: fc.oneof(fc.bigInt({ min: 2n ** 63n, max: 2n ** 80n }), fc.integer()),
      u64: fc.oneof(
        fc.bigInt({ min: -(2n ** 80n), max: -1n }),
        fc.bigInt({ min: 2n ** 64n, max: 2n ** 80n }),
      ),
      f32: fc.oneof(fc.double({ min: 3.5e38, max: 1e300, noNaN: true }), fc.string()),
      f64: fc.oneof(fc.string(), fc.bigInt(), fc.constant(null)),
      bool: fc.oneof(fc.integer({ min: 0, max: 1 }), fc.constant('true'), fc.constant(null)),
    };
    const nonInteger = fc.oneof(
      fc.double({ min: 0.001, max: 100, noInteger: true }),
      fc.constant(Number.NaN),
      fc.constant('1'),
      fc.constant(1n),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'f32', 'f64', 'bool'),
        fc.boolean(),
        fc.context(),
        (p, useNonInteger, ctx) => {
          const t = struct({ before: 'u32', x: p as 'u8', after: 'u32' } as Schema, { name: 'T' });
          const v = t.alloc(1).at(0) as unknown as Record<string, unknown>;
          const good = fc.sample(primValue(p as 'u8'), 1)[0];
          v.x = good;
          const arb =
            useNonInteger && !['f32', 'f64', 'bool', 'i64', 'u64'].includes(p) ? nonInteger : bad[p]!;
          const x = fc.sample(arb, 1)[0];
          ctx.log(`${p} <- ${String(x)}`);
          expect(codeOf(() => (v.x = x))).toBe('INVALID_ARGUMENT');
          expect(canon(v.x)).toBe(canon(good));
          expect(codeOf(() => t.codec.encode({ before: 0, x, after: 0 } as never))).toBe('INVALID_ARGUMENT');
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('struct views', () => {
  const Vec = struct({ x: 'f32', y: 'f32' }, { name: 'Vec' });
  const Order = struct(
    {
      id: 'u32',
      qty: 'i32',
      price: 'f64',
      side: 'u8',
      ts: 'i64',
      symbol: 'utf8:12',
      note: 'utf8:8?',
      levels: 'f64[4]',
      ok: 'bool',
      pos: Vec,
      pts: [Vec, 2],
      tags: 'utf8:4[2]',
    },
    { name: 'Order' },
  );

  it('are live: two views of one buffer see each other, arrays are live typed arrays', () => {
    const a = Order.alloc(2);
    const other = Order.from(a.handle).at(1);
    const v = a.at(1);
    v.price = 2.5;
    v.levels[3] = 7;
    v.pos.y = 4;
    v.pts.at(1).x = 9;
    v.symbol = 'ÆØÅ-ok';
    expect(other.price).toBe(2.5);
    expect(other.levels).toBeInstanceOf(Float64Array);
    expect(Array.from(other.levels)).toEqual([0, 0, 0, 7]);
    expect(other.pos.y).toBe(4);
    expect(other.pts.at(-1).x).toBe(9);
    expect(other.symbol).toBe('ÆØÅ-ok');
    expect(other.note).toBe('');
    v.note = null;
    expect(other.note).toBeNull();
    expect(a.at(0).price).toBe(0);
  });

  it('refuses a composite value whole: nothing of it is written', () => {
    const v = Order.alloc(1).at(0);
    v.tags = ['ab', 'cd'];
    expect(codeOf(() => (v.tags = ['ok', 'far too long'] as never))).toBe('INVALID_ARGUMENT');
    expect(v.tags).toEqual(['ab', 'cd']);
    v.pos = { x: 1, y: 2 } as never;
    expect(codeOf(() => (v.pos = { x: 5, y: 'no' } as never))).toBe('INVALID_ARGUMENT');
    expect(v.pos.toJSON()).toEqual({ x: 1, y: 2 });
    expect(codeOf(() => (v.levels = [1, 2, 3] as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => (v.symbol = 'a\u0000b'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => (v.symbol = '\ud800'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => (v.symbol = 'éééééééé'))).toBe('INVALID_ARGUMENT'); // 16 bytes > 12
    expect(codeOf(() => (v.note = undefined as never))).toBe('INVALID_ARGUMENT');
  });

  it('reads damaged memory as CORRUPT, never as a wrong value', () => {
    const a = Order.alloc(1);
    const u8 = new Uint8Array(a.buffer);
    const ok = Order.fields.find((f) => f.name === 'ok')!.offset;
    u8[ok] = 7;
    expect(codeOf(() => a.at(0).ok)).toBe('CORRUPT');
    expect(codeOf(() => Order.codec.decode(u8.slice(0, Order.byteLength)))).toBe('CORRUPT');
    u8[ok] = 1;
    const sym = Order.fields.find((f) => f.name === 'symbol')!.offset;
    u8.set([0x41, 0xc3, 0x28], sym);
    expect(codeOf(() => a.at(0).symbol)).toBe('CORRUPT');
    expect(codeOf(() => Order.codec.decode(new Uint8Array(Order.byteLength - 8)))).toBe('CORRUPT');
  });

  it('checks placement: alignment, bounds, handles of another layout', () => {
    const buf = new SharedArrayBuffer(256);
    expect(codeOf(() => Order.view(buf, 4))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => Order.view(buf, 256 - 8))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => Order.array(buf, 0, 3))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => Order.view({} as never))).toBe('INVALID_ARGUMENT');
    expect(Order.view(new Uint8Array(buf, 8, 8 + Order.byteLength)).id).toBe(0);
    const other = struct({ id: 'u32' });
    expect(codeOf(() => Order.from(other.alloc(1).handle as never))).toBe('INCOMPATIBLE');
    expect(codeOf(() => Order.alloc(1).at(1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => Order.read({} as never))).toBe('INVALID_ARGUMENT');
  });
});

describe('struct atomics', () => {
  const Item = struct({ n: 'u16', big: 'i64' }, { name: 'Item' });
  const C = struct(
    { hits: 'u32', signed: 'i32', small: 'i8', price: 'f64', counts: 'u32[3]', item: Item, items: [Item, 2] },
    { name: 'C' },
  );

  it('add, sub, and, or, xor, exchange, compareExchange, load, store on integer fields and paths', () => {
    const v = C.alloc(1).at(0);
    expect(C.atomic.add(v, 'hits', 5)).toBe(0);
    expect(C.atomic.sub(v, 'hits', 2)).toBe(5);
    expect(C.atomic.load(v, 'hits')).toBe(3);
    expect(C.atomic.or(v, 'hits', 8)).toBe(3);
    expect(C.atomic.and(v, 'hits', 9)).toBe(11);
    expect(C.atomic.xor(v, 'hits', 1)).toBe(9);
    expect(C.atomic.exchange(v, 'hits', 42)).toBe(8);
    expect(C.atomic.compareExchange(v, 'hits', 41, 1)).toBe(42);
    expect(C.atomic.compareExchange(v, 'hits', 42, 1)).toBe(42);
    expect(v.hits).toBe(1);
    C.atomic.store(v, 'signed', -7);
    expect(v.signed).toBe(-7);
    C.atomic.add(v, 'counts[2]', 3);
    expect(Array.from(v.counts)).toEqual([0, 0, 3]);
    C.atomic.add(v, 'item.big', 2n ** 40n);
    C.atomic.add(v, 'items[1].n', 65535);
    expect(v.item.big).toBe(2n ** 40n);
    expect(v.items.at(1).n).toBe(65535);
    expect(C.atomic.add(v, 'small', -1)).toBe(0);
    expect(v.small).toBe(-1);
  });

  it('refuses non-integer fields, bad paths and operands a field cannot hold', () => {
    const v = C.alloc(1).at(0);
    expect(codeOf(() => C.atomic.add(v, 'price', 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(v, 'item', 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(v, 'counts', 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(v, 'counts[3]', 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(v, 'nope', 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(v, 'hits', -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(v, 'hits', 1.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(v, 'item.big', 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => C.atomic.add(Item.alloc(1).at(0) as never, 'hits', 1))).toBe('INVALID_ARGUMENT');
  });
});
