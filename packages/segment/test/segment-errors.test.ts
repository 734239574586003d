/**
 * What Segment refuses: bad names, keys and options (INVALID_ARGUMENT), a foreign owner
 * (PERMISSION), a full segment or directory (TOO_LARGE), and damaged headers and directory entries
 * (CORRUPT or INCOMPATIBLE, never an out-of-bounds read: a seeded fuzz).
 */
import { spawnSync } from 'node:child_process';
import { chownSync } from 'node:fs';
import { ShmkitError } from '@shmkit/core';
import { createMappedFile, Segment } from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import * as header from '../dist/header.js';
import { rawHeader, SIZE } from './control.js';
import { cleanUpTestSegments, segmentName } from './helpers.js';

cleanUpTestSegments();

describe('Segment names and options', () => {
  it('rejects bad segment names with INVALID_ARGUMENT', () => {
    const bad: unknown[] = [
      '',
      'a/b',
      '/abs',
      '..',
      'a..b',
      'x\0y',
      'tab\there',
      'x'.repeat(201),
      'é'.repeat(101),
      42,
    ];
    for (const name of bad) {
      expect(codeOf(() => Segment.create(name as string, { size: SIZE }))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => Segment.open(name as string))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => Segment.unlink(name as string))).toBe('INVALID_ARGUMENT');
    }
    // 200 bytes is allowed (and no such segment exists).
    expect(codeOf(() => Segment.open('x'.repeat(200)))).toBe('NOT_FOUND');
  });

  it('rejects bad keys with INVALID_ARGUMENT', () => {
    const seg = Segment.create(segmentName('keys'), { size: SIZE });
    for (const key of ['', 'k'.repeat(65), '\ud800', 7]) {
      expect(codeOf(() => seg.mutex(key as string))).toBe('INVALID_ARGUMENT');
    }
    expect(seg.bytes('k'.repeat(64), 8).length).toBe(8);
    expect(seg.bytes('ключ', 8).length).toBe(8);
  });

  it('validates options before anything else', () => {
    const missing = segmentName('opts-missing');
    expect(codeOf(() => Segment.open(missing, { timeout: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => Segment.open(missing, { timeout: Number.NaN }))).toBe('INVALID_ARGUMENT');
    const name = segmentName('opts');
    for (const o of [
      { size: Number.NaN },
      { size: 100 },
      { size: Segment.headerBytes() - 1 },
      { size: SIZE, mode: 0o1000 },
      { size: SIZE, maxThreads: 0 },
      { size: SIZE, maxObjects: 1e9 },
      { size: SIZE, exclusive: 'yes' },
    ]) {
      expect(codeOf(() => Segment.create(name, o as never))).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => Segment.open(name))).toBe('NOT_FOUND'); // nothing was left behind
    const seg = Segment.create(name, { size: SIZE });
    expect(codeOf(() => seg.semaphore('s', -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => seg.channel('c', { capacity: 1000 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => seg.channel('c', { codec: 'json' as never }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => seg.barrier('b', 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => seg.bytes('b', 0))).toBe('INVALID_ARGUMENT');
    expect(seg.objects()).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)(
    'refuses a segment owned by another user unless allowForeignOwner',
    () => {
      const name = segmentName('foreign');
      const seg = Segment.create(name, { size: SIZE });
      chownSync(seg.path, 65534, 65534);
      expect(codeOf(() => Segment.open(name))).toBe('PERMISSION');
      expect(codeOf(() => Segment.create(name, { size: SIZE, exclusive: false }))).toBe('PERMISSION');
      expect(Segment.open(name, { allowForeignOwner: true }).size).toBe(SIZE);
    },
  );

  it('reports TOO_LARGE when the segment or its directory is full', () => {
    const o = { maxThreads: 4, maxObjects: 2 };
    const seg = Segment.create(segmentName('full'), { size: Segment.headerBytes(o) + 1024, ...o });
    expect(seg.freeBytes).toBe(1024);
    expect(seg.free).toBe(seg.freeBytes); // the deprecated name
    const e = (() => {
      try {
        seg.bytes('big', 2000);
      } catch (err) {
        return err as ShmkitError;
      }
    })();
    expect(e?.code).toBe('TOO_LARGE');
    expect(e?.message).toMatch(/needs 2000 bytes, 1024 of \d+ are left/);
    seg.bytes('a', 500);
    seg.bytes('b', 1);
    expect(seg.freeBytes).toBe(1024 - 512 - 128);
    expect(codeOf(() => seg.bytes('c', 1))).toBe('TOO_LARGE');
    expect(seg.objects().map((x) => x.key)).toEqual(['a', 'b']);
  });
});

describe('Segment header and directory validation', () => {
  it('reports CORRUPT for a bad magic, size or layout field, INCOMPATIBLE for another version', () => {
    const name = segmentName('corrupt');
    const seg = Segment.create(name, { size: SIZE });
    const h = rawHeader(seg);
    const cases: [number, number, string][] = [
      [header.W_MAGIC, 0x12345678, 'CORRUPT'],
      [header.W_SIZE_LO, SIZE * 2, 'CORRUPT'],
      [header.W_DIR_OFFSET, 1 << 30, 'CORRUPT'],
      [header.W_VERSION, 2, 'INCOMPATIBLE'],
    ];
    for (const [word, value, code] of cases) {
      const saved = h[word]!;
      h[word] = value;
      expect(codeOf(() => Segment.open(name))).toBe(code);
      expect(codeOf(() => Segment.from({ ...seg.handle, buffer: h.buffer as SharedArrayBuffer }))).toBe(code);
      h[word] = saved;
    }
    expect(Segment.open(name).size).toBe(SIZE);
  });

  it('reports CORRUPT for a directory entry or count that does not fit the segment', () => {
    const name = segmentName('bad-entry');
    const seg = Segment.create(name, { size: SIZE });
    seg.mutex('m');
    const h = rawHeader(seg);
    const entry = h[header.W_DIR_OFFSET]! / 4;
    const cases: [number, number][] = [
      [entry + 1, 2 ** 31 - 1], // offset past the end
      [entry + 1, 0], // offset inside the header
      [entry + 2, 4096], // a Mutex of 4096 bytes
      [entry + 7, 1000], // key length
      [entry, 99], // kind
      [header.W_COUNT, 1 << 20], // count past the capacity
    ];
    for (const [word, value] of cases) {
      const saved = h[word]!;
      h[word] = value;
      expect(codeOf(() => Segment.open(name).mutex('m'))).toBe('CORRUPT');
      h[word] = saved;
    }
    // An entry pointing at memory that holds no Mutex.
    const saved = h[entry + 1]!;
    h[entry + 1] = saved + 1;
    expect(codeOf(() => Segment.open(name).mutex('m'))).toBe('CORRUPT');
    h[entry + 1] = saved;
    expect(Segment.open(name).mutex('m').tryLock()).toBe(true);
  });

  it('reports CORRUPT at once when the creator died before finishing the header', () => {
    const name = segmentName('half');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const f = createMappedFile(`/dev/shm/shmkit.${name}`, { size: 64 * 1024 });
    Atomics.store(new Int32Array(f.buffer!), header.W_CREATOR_PID, dead);
    expect(codeOf(() => Segment.open(name, { timeout: 20_000 }))).toBe('CORRUPT');
  });

  it('never reads out of bounds, whatever the header and directory hold (seeded)', () => {
    const seed = 0x5eed;
    const name = segmentName('fuzz');
    const seg = Segment.create(name, { size: 64 * 1024, maxThreads: 8, maxObjects: 8 });
    seg.mutex('m');
    seg.channel('c', { capacity: 256 });
    seg.bytes('b', 100);
    seg.semaphore('s', 2);
    const h = rawHeader(seg);
    const dirWord = h[header.W_DIR_OFFSET]! / 4;
    const dataWord = seg.objects()[0]!.offset / 4;
    const pristine = h.slice();
    // Words that may be corrupted: the fixed fields, the allocator and the directory. Not the
    // magic (without it, open waits for a creator: tested above), the lock or the thread table
    // (their damage is the primitives' business).
    const targets = [
      ...Array.from({ length: 31 }, (_, i) => i + 1),
      header.W_COUNT,
      header.W_BUMP,
      ...Array.from({ length: dataWord - dirWord }, (_, i) => dirWord + i),
    ];
    let state = seed;
    const random = (): number => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const codes = new Map<string, number>();
    for (let round = 0; round < 300; round++) {
      h.set(pristine);
      const n = 1 + Math.floor(random() * 3);
      for (let i = 0; i < n; i++) {
        const word = targets[Math.floor(random() * targets.length)]!;
        const r = random();
        h[word] =
          r < 0.3
            ? h[word]! ^ (1 << Math.floor(random() * 32))
            : r < 0.6
              ? (random() * 2 ** 32) | 0
              : h[word]! + 1;
      }
      let code = 'ok';
      try {
        const s = Segment.open(name);
        s.objects();
        const m = s.mutex('m');
        if (m.tryLock()) m.unlock();
        s.channel('c', { capacity: 256 }).tryRecv();
        s.bytes('b', 100).fill(1);
        expect(s.semaphore('s', 2).value).toBeGreaterThanOrEqual(0);
        s.bytes(`new${round}`, 200).fill(2);
        s.close();
      } catch (e) {
        if (!(e instanceof ShmkitError)) {
          throw new Error(`round ${round} (seed ${seed}): ${String(e)}`, { cause: e });
        }
        code = e.code;
      }
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.get('CORRUPT')).toBeGreaterThan(0);
    expect([...codes.keys()].every((c) => ['ok', 'CORRUPT', 'INCOMPATIBLE', 'TOO_LARGE'].includes(c))).toBe(
      true,
    );
  });
});
