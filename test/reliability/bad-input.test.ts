// Bad input, as a table: every row must throw a ShmkitError with the expected code, and nothing
// may be left in /dev/shm afterwards (every segment name here starts with this test's prefix).

import { statfsSync } from 'node:fs';
import { Channel } from '@shmkit/channel';
import { ShmkitError } from '@shmkit/core';
import { Segment, SHM_DIR } from '@shmkit/segment';
import { Mutex, Semaphore } from '@shmkit/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { leftoverSegments, PREFIX, removeSegments, segmentName } from './helpers.js';

afterEach(() => {
  removeSegments();
});

type Row = readonly [what: string, code: string, fn: () => unknown];

/** Checks every row; then, unless a segment of the test is still open, that /dev/shm holds none of ours. */
function expectRows(rows: readonly Row[], o?: { segmentOpen?: boolean }): void {
  const got = rows.map(([what, , fn]) => {
    try {
      fn();
      return `${what}: no error`;
    } catch (e) {
      return e instanceof ShmkitError ? `${what}: ${e.code}` : `${what}: not a ShmkitError: ${String(e)}`;
    }
  });
  expect(got).toEqual(rows.map(([what, code]) => `${what}: ${code}`));
  if (o?.segmentOpen !== true) expect(leftoverSegments()).toEqual([]);
}

const BAD_NAMES: readonly [string, unknown][] = [
  ['empty', ''],
  ['slash', '/'],
  ['dot dot', '..'],
  ['a path', 'a/b'],
  ['a NUL', `${PREFIX}a\0b`],
  ['300 characters', `${PREFIX}${'x'.repeat(300)}`],
  ['a number', 5],
  ['a lone surrogate', `${PREFIX}\ud800`],
];

describe('bad input', () => {
  it('refuses bad segment names with INVALID_ARGUMENT and creates no file', () => {
    expectRows(
      BAD_NAMES.flatMap(([what, name]): Row[] => [
        [`create ${what}`, 'INVALID_ARGUMENT', () => Segment.create(name as string, { size: 1 << 16 })],
        [`open ${what}`, 'INVALID_ARGUMENT', () => Segment.open(name as string)],
      ]),
    );
  });

  it('refuses bad segment sizes, and a size beyond the free space of /dev/shm with TOO_LARGE', () => {
    const s = statfsSync(SHM_DIR);
    const beyondFree = Math.ceil((s.bavail * s.bsize + 2 ** 30) / 4096) * 4096;
    const rows: Row[] = (
      [
        ['0', 0],
        ['-1', -1],
        ['NaN', Number.NaN],
        ['1.5', 1.5],
        ['a string', '65536'],
        ['Infinity', Number.POSITIVE_INFINITY],
        ['2^53', 2 ** 53],
      ] as const
    ).map(
      ([what, size]): Row => [
        `size ${what}`,
        'INVALID_ARGUMENT',
        () => Segment.create(segmentName('size'), { size: size as number }),
      ],
    );
    // Beyond the largest segment shmkit makes (512 GiB), INVALID_ARGUMENT comes first.
    if (beyondFree <= 2 ** 39) {
      rows.push([
        'beyond free space',
        'TOO_LARGE',
        () => Segment.create(segmentName('huge'), { size: beyondFree }),
      ]);
    }
    expectRows(rows);
  });

  it('refuses bad timeouts with INVALID_ARGUMENT, even when no wait is needed', () => {
    const ch = new Channel({ capacity: 1024 });
    ch.send(new Uint8Array(1));
    const m = new Mutex();
    const sem = new Semaphore(5);
    const rows: Row[] = [];
    for (const [what, timeout] of [
      ['NaN', Number.NaN],
      ['-1', -1],
      ["'5'", '5'],
      ['null', null],
    ] as const) {
      const o = { timeout: timeout as number };
      rows.push(
        [`recv ${what}`, 'INVALID_ARGUMENT', () => ch.recv(o)],
        [`send ${what}`, 'INVALID_ARGUMENT', () => ch.send(new Uint8Array(1), o)],
        [`peek ${what}`, 'INVALID_ARGUMENT', () => ch.peek(o)],
        [`claim ${what}`, 'INVALID_ARGUMENT', () => ch.claim(4, o)],
        [`lock ${what}`, 'INVALID_ARGUMENT', () => m.lock(o)],
        [`acquire ${what}`, 'INVALID_ARGUMENT', () => sem.acquire(o)],
        [`open ${what}`, 'INVALID_ARGUMENT', () => Segment.open(segmentName('t'), o)],
      );
    }
    expectRows(rows);
    // Nothing was taken by the refused calls.
    expect(Array.from(ch.recv({ timeout: 0 }))).toEqual([0]);
    expect(m.tryLock()).toBe(true);
    expect(sem.value).toBe(5);
  });

  it('refuses forged handles: INVALID_ARGUMENT for malformed ones, INCOMPATIBLE for the wrong object', () => {
    const h = new Channel({ capacity: 1024 }).handle;
    const mutex = new Mutex().handle;
    expectRows([
      ['a string', 'INVALID_ARGUMENT', () => Channel.from('handle' as never)],
      ['null', 'INVALID_ARGUMENT', () => Channel.from(null as never)],
      ['no type', 'INVALID_ARGUMENT', () => Channel.from({ ...h, type: undefined } as never)],
      ['a Mutex handle', 'INCOMPATIBLE', () => Channel.from(mutex as never)],
      ['a Channel handle as Mutex', 'INCOMPATIBLE', () => Mutex.from(h)],
      [
        'a plain ArrayBuffer',
        'INVALID_ARGUMENT',
        () => Channel.from({ ...h, buffer: new ArrayBuffer(2048) } as never),
      ],
      [
        'a buffer too small',
        'INCOMPATIBLE',
        () => Channel.from({ ...h, buffer: new SharedArrayBuffer(64), byteLength: 64 }),
      ],
      [
        'a zeroed buffer',
        'INCOMPATIBLE',
        () => Channel.from({ ...h, buffer: new SharedArrayBuffer(h.byteLength) }),
      ],
      ['offset past the end', 'INVALID_ARGUMENT', () => Channel.from({ ...h, byteOffset: 1 << 20 })],
      ['negative offset', 'INVALID_ARGUMENT', () => Channel.from({ ...h, byteOffset: -8 })],
      ['unaligned offset', 'INVALID_ARGUMENT', () => Channel.from({ ...h, byteOffset: 4 })],
      ['length past the end', 'INVALID_ARGUMENT', () => Channel.from({ ...h, byteLength: 1 << 30 })],
      ['NaN length', 'INVALID_ARGUMENT', () => Channel.from({ ...h, byteLength: Number.NaN })],
      ['unknown waiter', 'INVALID_ARGUMENT', () => Channel.from({ ...h, waiter: 'spin' } as never)],
      ['unknown codec', 'INVALID_ARGUMENT', () => Channel.from({ ...h, codec: 'nope' })],
      ['a forged segment handle', 'INVALID_ARGUMENT', () => Segment.from({ type: 'Segment' } as never)],
    ]);
  });

  it('refuses values a codec cannot encode, and messages larger than the ring allows', () => {
    const bytes = new Channel({ capacity: 1024 });
    const utf8 = new Channel<string>({ capacity: 1024, codec: 'utf8' });
    const msgpack = new Channel<unknown>({ capacity: 1024, codec: 'msgpack' });
    expectRows([
      ['bytes: a string', 'INVALID_ARGUMENT', () => bytes.trySend('x' as never)],
      ['bytes: an array', 'INVALID_ARGUMENT', () => bytes.trySend([1, 2] as never)],
      ['bytes: null', 'INVALID_ARGUMENT', () => bytes.send(null as never, { timeout: 0 })],
      ['bytes: too large', 'TOO_LARGE', () => bytes.trySend(new Uint8Array(1024))],
      ['utf8: a number', 'INVALID_ARGUMENT', () => utf8.trySend(5 as never)],
      ['utf8: undefined', 'INVALID_ARGUMENT', () => utf8.trySend(undefined as never)],
      ['utf8: too large', 'TOO_LARGE', () => utf8.trySend('x'.repeat(3000))],
      ['msgpack: a symbol', 'INVALID_ARGUMENT', () => msgpack.trySend(Symbol('s'))],
      ['msgpack: a function', 'INVALID_ARGUMENT', () => msgpack.trySend(() => 1)],
      ['msgpack: a nested function', 'INVALID_ARGUMENT', () => msgpack.trySend({ a: [1, { f() {} }] })],
      ['msgpack: too large', 'TOO_LARGE', () => msgpack.trySend(new Uint8Array(3000))],
      ['claim: too large', 'INVALID_ARGUMENT', () => bytes.tryClaim(1024)],
      ['claim: -1', 'INVALID_ARGUMENT', () => bytes.tryClaim(-1)],
      ['capacity 1000', 'INVALID_ARGUMENT', () => new Channel({ capacity: 1000 })],
      ['capacity NaN', 'INVALID_ARGUMENT', () => new Channel({ capacity: Number.NaN })],
      ['unknown codec', 'INVALID_ARGUMENT', () => new Channel({ codec: 'nope' as never })],
    ]);
    // The refused sends left nothing behind.
    expect(bytes.tryRecv()).toBeUndefined();
    expect(utf8.tryRecv()).toBeUndefined();
    expect(msgpack.tryRecv()).toBeUndefined();
  });

  // Found by this table: msgpack (msgpackr) encodes a WeakMap or WeakSet as {}, where structured
  // clone, whose behaviour the msgpack codec promises, throws DataCloneError (functions are now
  // refused through msgpackr's writeFunction hook; weak collections have no per-encoder hook).
  it.todo('refuses, in the msgpack codec, a WeakMap or WeakSet as structured clone does');

  it('refuses bad keys and sizes of named objects in a segment, without a trace in its directory', () => {
    const seg = Segment.create(segmentName('keys'), { size: 1 << 16 });
    try {
      seg.mutex('taken');
      expectRows(
        [
          ['key empty', 'INVALID_ARGUMENT', () => seg.mutex('')],
          ['key of 65 bytes', 'INVALID_ARGUMENT', () => seg.mutex('k'.repeat(65))],
          ['key a number', 'INVALID_ARGUMENT', () => seg.bytes(5 as never, 8)],
          ['key a lone surrogate', 'INVALID_ARGUMENT', () => seg.latch('\ud800', 1)],
          ['bytes 0', 'INVALID_ARGUMENT', () => seg.bytes('b0', 0)],
          ['bytes -1', 'INVALID_ARGUMENT', () => seg.bytes('b1', -1)],
          ['bytes NaN', 'INVALID_ARGUMENT', () => seg.bytes('b2', Number.NaN)],
          ['bytes 1.5', 'INVALID_ARGUMENT', () => seg.bytes('b3', 1.5)],
          ['bytes beyond the segment', 'TOO_LARGE', () => seg.bytes('b4', 1 << 20)],
          ['channel beyond the segment', 'TOO_LARGE', () => seg.channel('c', { capacity: 1 << 20 })],
          ['another kind under a key', 'INCOMPATIBLE', () => seg.channel('taken')],
        ],
        { segmentOpen: true },
      );
      // The refused objects took no room: the largest region that fits before still fits.
      expect(seg.bytes('b4', 4096).length).toBe(4096);
    } finally {
      seg.close();
      seg.unlink();
    }
    expect(leftoverSegments()).toEqual([]);
  });
});
