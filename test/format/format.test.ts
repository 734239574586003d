import { Channel, RingBuffer } from '@shmkit/channel';
import { heapIdentity, TAG_KIND_MASK, TOKEN_MASK, tagName, tagVersion } from '@shmkit/core';
import { ProcessIdentity, Segment } from '@shmkit/segment';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import { afterEach, describe, expect, it } from 'vitest';
import * as channelLayout from '../../packages/channel/dist/layout.js';
import * as msgpackStructures from '../../packages/channel/dist/msgpack-structures.js';
import * as ringBufferLayout from '../../packages/channel/dist/ring-buffer-layout.js';
import * as header from '../../packages/segment/dist/header.js';
import * as segmentKinds from '../../packages/segment/dist/kinds.js';
import * as barrier from '../../packages/sync/dist/barrier.js';
import * as condition from '../../packages/sync/dist/condition.js';
import * as latch from '../../packages/sync/dist/latch.js';
import * as mutex from '../../packages/sync/dist/mutex.js';
import * as rwlock from '../../packages/sync/dist/rwlock.js';
import * as semaphore from '../../packages/sync/dist/semaphore.js';
import { type DocTable, docTable, field, num, readDocTables } from './doc-tables.js';

type Module = Readonly<Record<string, unknown>>;

const tables = readDocTables();

/** The numeric exports of a module: its layout constants. */
function numericExports(m: Module): Map<string, number> {
  return new Map(
    Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])),
  );
}

/** A constant cell: the exported name, and whether it holds bytes ("NAME (bytes)") or an Int32 index. */
function constantCell(cell: string): { name: string; bytes: boolean } {
  return { name: cell.replace(/\s*\(bytes\)$/, ''), bytes: cell.endsWith('(bytes)') };
}

/** Every constant named in a layout table equals the offset in its row. */
function expectOffsets(t: DocTable, m: Module): void {
  for (const row of t.rows) {
    if (!row.constant) continue;
    const { name, bytes } = constantCell(row.constant);
    const value = m[name];
    expect(typeof value, `${t.name}: ${name} is not exported`).toBe('number');
    const offset = bytes ? (value as number) : (value as number) * 4;
    expect(offset, `${t.name}: ${name} (${row.field})`).toBe(num(row.offset!));
  }
}

/** Every constant of a constants table has its documented value. */
function expectConstants(t: DocTable, m: Module): void {
  for (const row of t.rows) {
    const name = row.constant!;
    const value = name.split('.').reduce<unknown>((o, k) => (o as Module | undefined)?.[k], m);
    expect(value, `${t.name}: ${name}`).toBe(num(row.value!));
  }
}

/** Every numeric export of `m` is named by one of these tables (nothing in the layout is undocumented). */
function expectAllDocumented(m: Module, ts: readonly (DocTable | undefined)[], what: string): void {
  const named = new Set<string>();
  for (const t of ts) for (const r of t?.rows ?? []) if (r.constant) named.add(constantCell(r.constant).name);
  for (const name of numericExports(m).keys()) {
    expect(named.has(name), `${what} exports ${name}, which docs/format.md does not list`).toBe(true);
  }
}

/** Rows with numeric offsets and sizes tile [0, size) without gaps or overlaps. */
function expectTiles(t: DocTable, size: number): void {
  let at = 0;
  for (const row of t.rows) {
    expect(num(row.offset!), `${t.name}: ${row.field} starts where the previous field ends`).toBe(at);
    at += num(row.size!);
  }
  expect(at, `${t.name}: the fields cover the structure's ${size} bytes`).toBe(size);
}

const tagsTable = docTable(tables, 'tags');

describe('docs/format.md: type tags', () => {
  const exported: Record<string, number> = {
    MUTEX_TAG: mutex.MUTEX_TAG,
    CONDITION_TAG: condition.CONDITION_TAG,
    SEMAPHORE_TAG: semaphore.SEMAPHORE_TAG,
    RWLOCK_TAG: rwlock.RWLOCK_TAG,
    BARRIER_TAG: barrier.BARRIER_TAG,
    LATCH_TAG: latch.LATCH_TAG,
    CHANNEL_TAG: channelLayout.CHANNEL_TAG,
    RING_BUFFER_TAG: ringBufferLayout.RING_BUFFER_TAG,
    STRUCTURES_TAG: msgpackStructures.STRUCTURES_TAG,
  };

  it('lists every kind with the tag, kind letters and version the code defines', () => {
    expect(tagsTable.rows.map((r) => r.constant).sort()).toEqual(Object.keys(exported).sort());
    for (const row of tagsTable.rows) {
      const tag = exported[row.constant!]!;
      expect(tag >>> 0, row.type).toBe(num(row.tag!));
      expect(tag & 0xff, `${row.type}: byte 0 is 'S'`).toBe(0x53);
      expect(String.fromCharCode((tag >>> 8) & 0xff, (tag >>> 16) & 0xff), row.type).toBe(row.kind);
      expect(tagVersion(tag), row.type).toBe(num(row.version!));
      expect(tagName(tag), row.type).toBe(row.type);
    }
  });

  it('keeps the Channel version word equal to its tag version', () => {
    expect(tagVersion(channelLayout.CHANNEL_TAG)).toBe(channelLayout.LAYOUT_VERSION);
  });

  it('stores the tag in word 0 of every primitive, with the layout version the attach checks', () => {
    const objects = [
      new Mutex(),
      new Condition(),
      new Semaphore(1),
      new RwLock(),
      new Barrier(2),
      new Latch(1),
    ];
    for (const o of objects) {
      const row = tagsTable.rows.find((r) => r.type === o.handle.type)!;
      expect(Atomics.load(o.memory.int32(), 0) >>> 0, row.type).toBe(num(row.tag!));
    }
  });

  it('refuses another layout version of a kind, and memory not initialised yet, with distinct messages', () => {
    const m = new Mutex();
    const i32 = m.memory.int32();
    const v1 = Atomics.load(i32, 0);
    Atomics.store(i32, 0, (v1 & TAG_KIND_MASK) | (2 << 24));
    expect(() => Mutex.from(m.handle)).toThrow(/layout version 2; this shmkit reads version 1/);
    Atomics.store(i32, 0, 0);
    expect(() => Mutex.from(m.handle)).toThrow(/not initialised yet/);
    Atomics.store(i32, 0, condition.CONDITION_TAG);
    expect(() => Mutex.from(m.handle)).toThrow(/a Condition, not a Mutex/);
    Atomics.store(i32, 0, v1);
    expect(Mutex.from(m.handle).locked).toBe(false);
  });
});

describe('docs/format.md: sync primitives', () => {
  const kinds: [string, Module, number][] = [
    ['mutex', mutex, Mutex.SIZE],
    ['condition', condition, Condition.SIZE],
    ['semaphore', semaphore, Semaphore.SIZE],
    ['rwlock', rwlock, RwLock.SIZE],
    ['barrier', barrier, Barrier.SIZE],
    ['latch', latch, Latch.SIZE],
  ];
  for (const [name, m, size] of kinds) {
    it(`pins the ${name} layout: offsets, size and constants`, () => {
      const t = docTable(tables, 'layout', name);
      expect(num(t.attrs.size ?? ''), `${name}: size= in its marker`).toBe(size);
      expectTiles(t, size);
      expectOffsets(t, m);
      const constants = tables.find((x) => x.marker === 'constants' && x.name === name);
      if (constants !== undefined) expectConstants(constants, m);
      expectAllDocumented(m, [t, constants, tagsTable], `packages/sync/src/${name}.ts`);
    });
  }
});

describe('docs/format.md: channel', () => {
  const t = docTable(tables, 'layout', 'channel');
  const constants = docTable(tables, 'constants', 'channel');

  it('pins every header word and constant of packages/channel/src/layout.ts', () => {
    expectOffsets(t, channelLayout);
    expectConstants(constants, channelLayout);
    expectAllDocumented(channelLayout, [t, constants, tagsTable], 'packages/channel/src/layout.ts');
    expect(Channel.HEADER_BYTES).toBe(num(field(t, 'ring').offset!));
    expect(Channel.byteLength(4096)).toBe(1024 + 4096);
    expect(Channel.byteLength(4096, { consumers: 'many' })).toBe(1024 + 4096 + 4096 / 4);
  });

  it('writes the header and a committed frame where the tables say', () => {
    const ch = new Channel({ capacity: 256 });
    ch.send(new Uint8Array([1, 2, 3, 4, 5]));
    const r = ch.memory;
    const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
    const at = (row: Readonly<Record<string, string>>, base = 0): number =>
      dv.getInt32(base + num(row.offset!), true);
    expect(at(field(t, 'tag')) >>> 0).toBe(channelLayout.CHANNEL_TAG >>> 0);
    expect(at(field(t, 'layout version'))).toBe(channelLayout.LAYOUT_VERSION);
    expect(at(field(t, 'capacity'))).toBe(256);
    expect(at(field(t, 'max message'))).toBe(channelLayout.DEFAULT_MAX_MESSAGE);
    expect(at(field(t, 'max frame'))).toBe(256 / 2 - 16);
    expect(at(field(t, 'extension offset'))).toBe(0);
    expect(at(field(t, 'tail'))).toBe(32);

    const frame = docTable(tables, 'layout', 'frame');
    const ring = num(field(t, 'ring').offset!);
    expect(at(field(frame, 'state'), ring)).toBe(5 + 1);
    expect(at(field(frame, 'frame size'), ring)).toBe(32 | channelLayout.KIND_MSG);
    expect(at(field(frame, 'token of the producer'), ring)).toBe(heapIdentity.self());
    expect(at(field(frame, 'many consumers'), ring)).toBe(0);
    const payload = ring + num(field(frame, 'payload').offset!);
    expect([...new Uint8Array(r.buffer, r.byteOffset + payload, 5)]).toEqual([1, 2, 3, 4, 5]);
    expect(num(field(frame, 'payload').offset!)).toBe(channelLayout.FRAME_HEADER);
  });
});

describe('docs/format.md: RingBuffer', () => {
  const t = docTable(tables, 'layout', 'ring-buffer');

  it('pins every header word and constant of packages/channel/src/ring-buffer-layout.ts', () => {
    const constants = docTable(tables, 'constants', 'ring-buffer');
    expectOffsets(t, ringBufferLayout);
    expectConstants(constants, ringBufferLayout);
    expectAllDocumented(
      ringBufferLayout,
      [t, constants, tagsTable],
      'packages/channel/src/ring-buffer-layout.ts',
    );
  });

  it('keeps its tag, version, indices, element type and storage where the table says', () => {
    const sab = RingBuffer.getStorageForCapacity(7, Float32Array);
    const rb = new RingBuffer(sab, Float32Array);
    expect(rb.push(new Float32Array([1.5, 2.5, 3.5]))).toBe(3);
    const dv = new DataView(sab);
    const word = (prefix: string): number => dv.getInt32(num(field(t, prefix).offset!), true);
    expect(word('tag') >>> 0).toBe(ringBufferLayout.RING_BUFFER_TAG >>> 0);
    expect(word('layout version')).toBe(ringBufferLayout.RING_BUFFER_LAYOUT_VERSION);
    expect(word('slots')).toBe(8);
    expect(word('element type')).toBe(8); // Float32Array, 8th in the documented list
    expect(word('write word') & ringBufferLayout.INDEX_MASK).toBe(3);
    expect(word('read word') & ringBufferLayout.INDEX_MASK).toBe(0);
    const storage = num(field(t, 'storage').offset!);
    expect(sab.byteLength).toBe(storage + 8 * Float32Array.BYTES_PER_ELEMENT);
    expect([...new Float32Array(sab, storage, 3)]).toEqual([1.5, 2.5, 3.5]);
  });
});

describe('docs/format.md: segment', () => {
  const names: string[] = [];
  afterEach(() => {
    for (const n of names.splice(0)) Segment.unlink(n);
  });
  const create = (tag: string): Segment => {
    const name = `fmt${process.pid}-${names.length}-${tag}`;
    names.push(name);
    return Segment.create(name, { size: 1 << 16 });
  };

  it('pins every header word and constant of packages/segment/src/header.ts', () => {
    const t = docTable(tables, 'layout', 'segment-header');
    const constants = docTable(tables, 'constants', 'segment-header');
    expectOffsets(t, header);
    expectConstants(constants, header);
    expectAllDocumented(header, [t, constants], 'packages/segment/src/header.ts');
    expect(num(field(t, 'magic').field!.match(/\((0x[0-9a-f]+)\)/)![1]!)).toBe(header.MAGIC);
    expect(String.fromCharCode(...new Uint8Array(new Int32Array([header.MAGIC]).buffer))).toBe('SKsg');
  });

  it('pins the thread table constants and writes a slot where the table says', () => {
    expectConstants(docTable(tables, 'constants', 'thread-table'), { ProcessIdentity, TOKEN_MASK });
    const slot = docTable(tables, 'layout', 'thread-slot');
    expectTiles(slot, ProcessIdentity.SLOT_BYTES);
    const seg = create('slot');
    try {
      const m = seg.mutex('m');
      m.lock();
      const token = Atomics.load(m.memory.int32(), mutex.STATE) & TOKEN_MASK;
      m.unlock();
      const dv = new DataView(seg.handle.buffer);
      const tableOffset = dv.getInt32(header.W_TABLE_OFFSET * 4, true);
      const base = tableOffset + ((token & 0xfff) - 1) * ProcessIdentity.SLOT_BYTES;
      const word = (prefix: string): number => dv.getInt32(base + num(field(slot, prefix).offset!), true);
      const state = word('state');
      expect(state & 1, 'LIVE').toBe(1);
      expect(token >>> 12, 'the token carries the generation of the state word').toBe(state >>> 1);
      expect(word('pid')).toBe(process.pid);
      expect(word('threadId')).toBe(0);
      expect(word('process start time')).not.toBe(0);
    } finally {
      seg.close();
    }
  });

  it('writes a directory entry where the table says, with the documented kind ids and sizes', () => {
    const t = docTable(tables, 'layout', 'directory-entry');
    expectTiles(t, header.ENTRY_BYTES);
    const kinds = docTable(tables, 'object-kinds');
    for (const row of kinds.rows) {
      const def = segmentKinds.kindById(num(row.id!));
      expect(def?.name, row.kind).toBe(row.name);
      const size = num(row.byteLength!);
      if (!Number.isNaN(size)) expect(def?.size({ byteLength: 0, params: [0, 0, 0] }), row.kind).toBe(size);
    }
    for (let id = 0; id < 64; id++) {
      const def = segmentKinds.kindById(id);
      if (def !== undefined)
        expect(
          kinds.rows.some((r) => num(r.id!) === id),
          `kind ${def.name}`,
        ).toBe(true);
    }

    const seg = create('dir');
    try {
      seg.semaphore('format-key', 3, { max: 9 });
      const dv = new DataView(seg.handle.buffer);
      const base = dv.getInt32(header.W_DIR_OFFSET * 4, true);
      const word = (prefix: string): number => dv.getInt32(base + num(field(t, prefix).offset!), true);
      expect(dv.getInt32(header.W_COUNT * 4, true)).toBe(1);
      expect(word('object kind')).toBe(segmentKinds.SEMAPHORE.id);
      const offset = word('offset of the object') * header.ALLOCATION_UNIT;
      expect(dv.getInt32(offset, true)).toBe(semaphore.SEMAPHORE_TAG);
      expect(word('byteLength')).toBe(Semaphore.SIZE);
      expect([word('p0'), word('p1'), word('p2')]).toEqual([3, 9, 0]);
      expect(word('key length')).toBe('format-key'.length);
      const key = base + num(field(t, 'key,').offset!);
      expect(new TextDecoder().decode(new Uint8Array(seg.handle.buffer, key, 10))).toBe('format-key');
    } finally {
      seg.close();
    }
  });
});
