import { Channel, msgpackCodec } from '@shmkit/channel';
import { Segment } from '@shmkit/segment';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { spawnFixture } from '../../../test/helpers/children.js';
import { codeOf } from '../../../test/helpers/errors.js';
import { runWorkers } from '../../../test/helpers/workers.js';
import { cleanUpTestSegments, segmentName } from '../../segment/test/helpers.js';
import { shaped } from './fixtures/shapes.js';

const worker = new URL('./fixtures/msgpack-structures-worker.ts', import.meta.url);
const fixtures = new URL('./fixtures/', import.meta.url);
const TABLE = 8192;
const SLOT0 = 64;
const DATA_AT = 256;

cleanUpTestSegments();

/** The structures table of a one-consumer channel: its last 8 KiB. */
function table(ch: Channel<unknown>): { i32: Int32Array; u8: Uint8Array } {
  const h = ch.handle;
  const at = h.byteOffset + h.byteLength - TABLE;
  return { i32: new Int32Array(h.buffer, at, TABLE / 4), u8: new Uint8Array(h.buffer, at, TABLE) };
}

function slotsUsed(ch: Channel<unknown>): number {
  const { i32 } = table(ch);
  let n = 0;
  while (n < 32 && Atomics.load(i32, SLOT0 / 4 + n) !== 0) n++;
  return n;
}

/** Receives `expected` messages of `producers` producers and checks each against shaped(). */
function receiveShaped(rx: Channel<unknown>, producers: number, count: number, shapes: number): void {
  const next = new Array<number>(producers).fill(0);
  for (let i = 0; i < producers * count; i++) {
    const m = rx.recv({ timeout: 30_000 }) as { p: number; seq: number };
    expect(m.seq).toBe(next[m.p]);
    expect(m).toEqual(shaped(m.p, m.seq, shapes));
    expect(Object.keys(m)).toEqual(Object.keys(shaped(m.p, m.seq, shapes)));
    next[m.p]!++;
  }
  expect(next).toEqual(new Array(producers).fill(count));
  expect(rx.tryRecv()).toBeUndefined();
}

describe('msgpack structures shared through the channel', () => {
  it('defines each key list once in shared memory: later messages carry only its id', () => {
    const ch = new Channel<unknown>({ codec: 'msgpack' });
    const rx = Channel.from<unknown>(ch.handle);
    const value = { alpha: 1, beta: 'two', gamma: [3] };
    const alone = msgpackCodec().encode(value).length;
    ch.send(value);
    expect(slotsUsed(ch)).toBe(1);
    expect(rx.recv()).toEqual(value);
    // The second message of that shape, as it sits in the ring: no key names in it.
    ch.send({ alpha: 2, beta: 'x', gamma: [] });
    const frame = rx.peek();
    expect(frame.length).toBeLessThan(alone - 'alphabetagamma'.length);
    rx.release();
  });

  it('decodes in a fresh attachment without any per-message definitions', () => {
    const ch = new Channel<unknown>({ codec: 'msgpack' });
    for (let i = 0; i < 10; i++) ch.send(shaped(0, i, 5));
    const rx = Channel.from<unknown>(ch.handle);
    for (let i = 0; i < 10; i++) expect(rx.recv()).toEqual(shaped(0, i, 5));
  });

  it('keeps the table after the marks of a many-consumer channel', () => {
    const ch = new Channel<unknown>({ codec: 'msgpack', consumers: 'many', capacity: 1 << 12 });
    expect(ch.handle.byteLength).toBe(Channel.byteLength(1 << 12, { consumers: 'many' }) + TABLE);
    const a = Channel.from<unknown>(ch.handle);
    const b = Channel.from<unknown>(ch.handle);
    for (let i = 0; i < 40; i++) {
      ch.send(shaped(1, i, 4));
      expect((i % 2 === 0 ? a : b).recv({ timeout: 1000 })).toEqual(shaped(1, i, 4));
    }
    expect(slotsUsed(ch)).toBe(5);
  });

  it('delivers every message exactly once while 4 worker producers race to add structures', async () => {
    const ch = new Channel<unknown>({ codec: 'msgpack', producers: 'many', capacity: 1 << 16 });
    const rx = Channel.from<unknown>(ch.handle);
    const start = new SharedArrayBuffer(4);
    const count = 3000;
    const shapes = 6;
    const sent = runWorkers(
      worker,
      [0, 1, 2, 3].map((p) => ({ channel: ch.handle, producer: p, count, shapes, start })),
      120_000,
    );
    receiveShaped(rx, 4, count, shapes);
    await sent;
    // 4 x 6 outer key lists + the inner one all producers share: 25 slots, no duplicates.
    expect(slotsUsed(ch)).toBe(4 * shapes + 1);
  });

  it('delivers every message exactly once while 3 producer processes race to add structures', async () => {
    const name = segmentName('msgpack-structures');
    const seg = Segment.create(name, { size: 1 << 20 });
    const rx = seg.channel<unknown>('q', { codec: 'msgpack', producers: 'many', capacity: 1 << 16 });
    const count = 2000;
    const shapes = 5;
    const children = [0, 1, 2].map((p) =>
      spawnFixture(fixtures, 'msgpack-structures-child.mjs', [name, p, count, shapes]),
    );
    receiveShaped(rx, 3, count, shapes);
    for (const c of children) {
      const r = await c.exited(60_000);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(slotsUsed(rx)).toBe(3 * shapes + 1);
    seg.close();
  });

  it('falls back to per-message definitions once the table is full, losing nothing', () => {
    const ch = new Channel<unknown>({ codec: 'msgpack', capacity: 1 << 16 });
    const rx = Channel.from<unknown>(ch.handle);
    const many = Array.from({ length: 80 }, (_, i) => ({ [`key${i}`]: i, [`other${i}`]: `s${i}`, n: i }));
    for (const m of many) ch.send(m);
    expect(slotsUsed(ch)).toBe(32);
    for (const m of many) {
      const got = rx.recv({ timeout: 1000 });
      expect(got).toEqual(m);
      expect(Object.keys(got as object)).toEqual(Object.keys(m));
    }
    // A fresh receiver decodes the same messages too (unshared ones carry their definitions).
    for (const m of many) ch.send(m);
    const rx2 = Channel.from<unknown>(ch.handle);
    for (const m of many) expect(rx2.recv({ timeout: 1000 })).toEqual(m);
  });

  it('goes on after a sender died between taking room for a record and committing its slot', () => {
    const ch = new Channel<unknown>({ codec: 'msgpack' });
    const { i32, u8 } = table(ch);
    ch.send({ a: 1 });
    // What a sender killed mid-add leaves: the bump moved past a half-written record, no slot.
    const bump = Atomics.load(i32, 4);
    u8.fill(0xee, DATA_AT + bump, DATA_AT + bump + 40);
    Atomics.store(i32, 4, bump + 40);
    ch.send({ b: 2 });
    const rx = Channel.from<unknown>(ch.handle);
    expect(rx.recv({ timeout: 1000 })).toEqual({ a: 1 });
    expect(rx.recv({ timeout: 1000 })).toEqual({ b: 2 });
    expect(slotsUsed(ch)).toBe(2);
    expect(Atomics.load(i32, SLOT0 / 4 + 1)).toBe((bump + 40) / 8 + 1);
  });

  it('reports CORRUPT for a damaged table, never a wrong key, and goes on afterwards', () => {
    const ch = new Channel<unknown>({ codec: 'msgpack' });
    const { i32, u8 } = table(ch);
    ch.send({ price: 1, qty: 2 });
    // A key byte changed behind the checksum's back: 'price' -> 'prick'.
    const rx = Channel.from<unknown>(ch.handle);
    const rec = DATA_AT + (Atomics.load(i32, SLOT0 / 4) - 1) * 8;
    const at = u8.indexOf('e'.charCodeAt(0), rec + 8);
    u8[at] = 'k'.charCodeAt(0);
    expect(codeOf(() => rx.recv({ timeout: 1000 }))).toBe('CORRUPT');
    u8[at] = 'e'.charCodeAt(0);
    // A slot pointing outside the table.
    ch.send({ other: 1 });
    Atomics.store(i32, SLOT0 / 4 + 1, 1 << 20);
    const rx2 = Channel.from<unknown>(ch.handle);
    expect(codeOf(() => rx2.recv({ timeout: 1000 }))).toBe('CORRUPT');
    // A length running past the data area.
    Atomics.store(i32, SLOT0 / 4 + 1, 0);
    const rx3 = Channel.from<unknown>(ch.handle);
    new DataView(u8.buffer, u8.byteOffset + rec).setUint32(0, 1 << 20, true);
    ch.send({ price: 3, qty: 4 });
    expect(codeOf(() => rx3.recv({ timeout: 1000 }))).toBe('CORRUPT');
    // A message naming a slot the table does not hold (zeroed), and a hole before a filled slot.
    const ch2 = new Channel<unknown>({ codec: 'msgpack' });
    const t2 = table(ch2);
    ch2.send({ first: 1 });
    ch2.send({ second: 2 });
    const saved = Atomics.load(t2.i32, SLOT0 / 4 + 1);
    Atomics.store(t2.i32, SLOT0 / 4 + 1, 0);
    const rx4 = Channel.from<unknown>(ch2.handle);
    expect(rx4.recv({ timeout: 1000 })).toEqual({ first: 1 });
    expect(codeOf(() => rx4.recv({ timeout: 1000 }))).toBe('CORRUPT');
    Atomics.store(t2.i32, SLOT0 / 4 + 1, saved);
    ch2.send({ first: 3 });
    ch2.send({ second: 4 });
    const first = Atomics.load(t2.i32, SLOT0 / 4);
    Atomics.store(t2.i32, SLOT0 / 4, 0);
    const rx5 = Channel.from<unknown>(ch2.handle);
    expect(codeOf(() => rx5.recv({ timeout: 1000 }))).toBe('CORRUPT');
    Atomics.store(t2.i32, SLOT0 / 4, first);
    expect(rx5.recv({ timeout: 1000 })).toEqual({ second: 4 });
    // A wrong tag: attaching refuses the channel.
    Atomics.store(i32, 0, 0);
    expect(codeOf(() => Channel.from<unknown>(ch.handle))).toBe('CORRUPT');
  });
});

describe('msgpack refuses what structured clone refuses', () => {
  it('gives INVALID_ARGUMENT for functions, symbols, promises, weak collections, generators and SharedArrayBuffer', () => {
    const ch = new Channel<unknown>({ codec: 'msgpack' });
    async function* ag(): AsyncGenerator<number> {
      yield 1;
    }
    function* g(): Generator<number> {
      yield 1;
    }
    const refused: unknown[] = [
      () => 1,
      Symbol('s'),
      Promise.resolve(1),
      new WeakMap(),
      new WeakSet(),
      new WeakRef({}),
      new FinalizationRegistry(() => {}),
      g(),
      ag(),
      new SharedArrayBuffer(8),
    ];
    for (const v of refused) {
      // structuredClone shares a SharedArrayBuffer; a byte ring cannot, so msgpack refuses it (documented).
      if (!(v instanceof SharedArrayBuffer)) expect(() => structuredClone(v as never), String(v)).toThrow();
      expect(
        codeOf(() => ch.send({ nested: [v] })),
        String(v),
      ).toBe('INVALID_ARGUMENT');
    }
    // Nothing was sent; the channel works on.
    const rich = (): unknown => ({
      ok: true,
      d: new Date(5),
      m: new Map([[1, 2]]),
      s: new Set([3]),
      b: 10n ** 30n,
      t: new Float32Array([1.5]),
    });
    ch.send(rich());
    const rx = Channel.from<unknown>(ch.handle);
    expect(rx.recv()).toEqual(rich());
    expect(rx.tryRecv()).toBeUndefined();
  });

  it('leaves other users of msgpackr in the process as they were', () => {
    const p = new Packr();
    expect(p.unpack(p.pack({ a: Promise.resolve() }))).toEqual({ a: {} });
  });
});
