import { spawnSync } from 'node:child_process';
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ShmkitError, TOKEN_MASK } from '@shmkit/core';
import { createMappedFile, futexWaiter, openMappedFile, Segment, segmentIdentity } from '@shmkit/segment';
import { Mutex } from '@shmkit/sync';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import {
  killChildren,
  leftoverSegments,
  removeTestSegments,
  segmentName,
  startChild,
  waitWhile,
} from './helpers.js';

const SIZE = 1 << 20;
// Words of the control block bytes('ctl', 64) shared with fixtures/segment-child.mjs.
const ARRIVALS = 0;
const GO = 1;
const READY = 2;
// Header words (see src/header.ts): tests corrupt them on purpose.
const W_MAGIC = 0;
const W_VERSION = 1;
const W_SIZE_LO = 2;
const W_CREATOR_PID = 4;
const W_DIR_OFFSET = 14;
const W_COUNT = 64;
const W_BUMP = 65;

afterEach(() => {
  killChildren();
  removeTestSegments();
});
afterAll(() => expect(leftoverSegments()).toEqual([]));

function control(seg: Segment): Int32Array {
  const b = seg.bytes('ctl', 64);
  return new Int32Array(b.buffer, b.byteOffset, 16);
}

function words(seg: Segment, key: string, bytes: number): Int32Array {
  const b = seg.bytes(key, bytes);
  return new Int32Array(b.buffer, b.byteOffset, bytes / 4);
}

/** Waits (bounded) until `n` children checked in, then lets them all go at once. */
async function startTogether(ctl: Int32Array, n: number): Promise<void> {
  for (let arrived = Atomics.load(ctl, ARRIVALS); arrived < n; arrived = Atomics.load(ctl, ARRIVALS)) {
    await waitWhile(ctl, ARRIVALS, arrived);
  }
  Atomics.store(ctl, GO, 1);
  futexWaiter.notify(ctl, GO, Number.POSITIVE_INFINITY);
}

/** Blocks this thread (bounded) until a child sets the READY word. */
function waitReady(ctl: Int32Array): void {
  const end = performance.now() + 20_000;
  while (Atomics.load(ctl, READY) === 0) {
    if (performance.now() > end) throw new Error('the child never got ready');
    futexWaiter.wait(ctl, READY, 0, 100);
  }
}

/** The raw header words of a segment's file, through a mapping of its own. */
function rawHeader(seg: Segment): Int32Array {
  return new Int32Array(openMappedFile(seg.path).buffer!);
}

describe('Segment lifecycle', () => {
  it('creates a segment that another mapping opens by name, sharing its objects', () => {
    const name = segmentName('basic');
    const a = Segment.create(name, { size: SIZE });
    expect(a.name).toBe(name);
    expect(a.size).toBe(SIZE);
    expect(a.path).toBe(`/dev/shm/shmkit.${name}`);
    expect(a.creatorPid).toBe(process.pid);
    const b = Segment.open(name);
    expect(b.size).toBe(SIZE);
    words(a, 'x', 8)[1] = 42;
    expect(words(b, 'x', 8)[1]).toBe(42);
    const ma = a.mutex('m');
    const mb = b.mutex('m');
    expect(mb.memory.byteOffset).toBe(ma.memory.byteOffset);
    ma.lock();
    // The same thread: one token for both mappings, so the second wrapper sees it held here.
    expect(mb.heldByCurrentThread).toBe(true);
    mb.unlock();
    expect(b.objects().map((o) => o.key)).toEqual(['x', 'm']);
  });

  it('refuses to create an existing segment with EXISTS; exclusive: false opens it instead', () => {
    const name = segmentName('exists');
    const a = Segment.create(name, { size: SIZE });
    expect(codeOf(() => Segment.create(name, { size: SIZE }))).toBe('EXISTS');
    const b = Segment.create(name, { size: SIZE, exclusive: false });
    words(a, 'w', 4)[0] = 7;
    expect(words(b, 'w', 4)[0]).toBe(7);
    expect(codeOf(() => Segment.create(name, { size: SIZE * 2, exclusive: false }))).toBe('INCOMPATIBLE');
    // Open-or-create of a missing segment creates it.
    const other = segmentName('exists-new');
    expect(Segment.create(other, { size: SIZE, exclusive: false }).creatorPid).toBe(process.pid);
  });

  it('fails open at once with NOT_FOUND when no such segment exists', () => {
    expect(codeOf(() => Segment.open(segmentName('missing')))).toBe('NOT_FOUND');
    expect(codeOf(() => Segment.open(segmentName('missing'), { timeout: 30 }))).toBe('NOT_FOUND');
  });

  it('waits in open({ timeout }) for a creator that starts later', async () => {
    const name = segmentName('later');
    const c = startChild('segment-child.mjs', ['create-later', name, String(SIZE)]);
    const seg = Segment.open(name, { timeout: 20_000 });
    expect(seg.creatorPid).toBe(c.proc.pid);
    expect(new TextDecoder().decode(seg.bytes('hello', 32)).replace(/\0+$/, '')).toBe('from the child');
    expect(await c.line()).toBe('created');
    expect((await c.exited()).code).toBe(0);
  });

  it('waits in openAsync() without blocking the event loop, and stops when aborted', async () => {
    const ac = new AbortController();
    const never = Segment.openAsync(segmentName('never'), { timeout: 20_000, signal: ac.signal });
    ac.abort();
    expect(await never.catch((e: ShmkitError) => e.code)).toBe('ABORTED');
    const name = segmentName('later-async');
    const c = startChild('segment-child.mjs', ['create-later', name, String(SIZE)]);
    const [seg, line] = await Promise.all([Segment.openAsync(name, { timeout: 20_000 }), c.line()]);
    expect(line).toBe('created');
    expect(seg.creatorPid).toBe(c.proc.pid);
  });

  it('removes the name with unlink(), while open mappings keep working', () => {
    const name = segmentName('unlink');
    const seg = Segment.create(name, { size: SIZE });
    const w = words(seg, 'w', 4);
    seg.unlink();
    expect(codeOf(() => Segment.open(name))).toBe('NOT_FOUND');
    expect(Segment.unlink(name)).toBe(false);
    w[0] = 5;
    expect(words(seg, 'w', 4)[0]).toBe(5);
    // The name is free for a new segment, unrelated to the old one.
    const again = Segment.create(name, { size: SIZE });
    expect(again.objects()).toEqual([]);
    expect(Segment.unlink(name)).toBe(true);
  });

  it('throws CLOSED from a closed Segment object; close() is idempotent', () => {
    const seg = Segment.create(segmentName('closed'), { size: SIZE });
    seg.close();
    seg.close();
    expect(seg.closed).toBe(true);
    expect(codeOf(() => seg.mutex('m'))).toBe('CLOSED');
    expect(codeOf(() => seg.bytes('b', 8))).toBe('CLOSED');
    expect(codeOf(() => seg.handle)).toBe('CLOSED');
    expect(codeOf(() => seg.flush())).toBe('CLOSED');
    seg.unlink(); // still allowed
  });

  it('gives the thread-table slot back once no Segment object of this thread uses it', () => {
    const name = segmentName('slot');
    const a = Segment.create(name, { size: SIZE });
    const b = Segment.open(name);
    const m = a.mutex('m');
    m.lock();
    const token = Atomics.load(new Int32Array(m.memory.buffer, m.memory.byteOffset, 2), 1) & TOKEN_MASK;
    m.unlock();
    const id = segmentIdentity(b.handle.buffer)!;
    expect(id.owner(token)?.pid).toBe(process.pid);
    a.close();
    expect(id.owner(token)?.pid).toBe(process.pid); // b still open
    b.close();
    expect(id.owner(token)).toBeUndefined();
  });

  it('creates the file with mode 0600 by default, whatever the umask, or the mode asked for', () => {
    const old = process.umask(0o022);
    try {
      const a = Segment.create(segmentName('mode'), { size: SIZE });
      expect(statSync(a.path).mode & 0o777).toBe(0o600);
      const b = Segment.create(segmentName('mode640'), { size: SIZE, mode: 0o640 });
      expect(statSync(b.path).mode & 0o777).toBe(0o640);
    } finally {
      process.umask(old);
    }
  });

  it('keeps a segment in a disk directory, flushed, across close and open', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shmkit-seg-'));
    try {
      const name = segmentName('disk', dir);
      const seg = Segment.create(name, { size: 64 * 1024, dir });
      expect(seg.path).toBe(path.join(dir, `shmkit.${name}`));
      seg.bytes('data', 16).set([1, 2, 3]);
      seg.flush();
      seg.close();
      const again = Segment.open(name, { dir });
      expect(Array.from(again.bytes('data', 16).subarray(0, 3))).toEqual([1, 2, 3]);
      expect(Segment.list({ dir }).map((s) => s.name)).toEqual([name]);
      again.unlink();
      expect(Segment.list({ dir })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
      [W_MAGIC, 0x12345678, 'CORRUPT'],
      [W_SIZE_LO, SIZE * 2, 'CORRUPT'],
      [W_DIR_OFFSET, 1 << 30, 'CORRUPT'],
      [W_VERSION, 2, 'INCOMPATIBLE'],
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
    const entry = h[W_DIR_OFFSET]! / 4;
    const cases: [number, number][] = [
      [entry + 1, 2 ** 31 - 1], // offset past the end
      [entry + 1, 0], // offset inside the header
      [entry + 2, 4096], // a Mutex of 4096 bytes
      [entry + 7, 1000], // key length
      [entry, 99], // kind
      [W_COUNT, 1 << 20], // count past the capacity
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
    Atomics.store(new Int32Array(f.buffer!), W_CREATOR_PID, dead);
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
    const dirWord = h[W_DIR_OFFSET]! / 4;
    const dataWord = seg.objects()[0]!.offset / 4;
    const pristine = h.slice();
    // Words that may be corrupted: the fixed fields, the allocator and the directory. Not the
    // magic (without it, open waits for a creator: tested above), the lock or the thread table
    // (their damage is the primitives' business).
    const targets = [
      ...Array.from({ length: 31 }, (_, i) => i + 1),
      W_COUNT,
      W_BUMP,
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

describe('Segment.list', () => {
  it('lists shmkit segments with size, creator and liveness, and forgets unlinked ones', () => {
    const a = Segment.create(segmentName('list-a'), { size: SIZE });
    const b = Segment.create(segmentName('list-b'), { size: 2 * SIZE });
    b.mutex('m');
    const mine = Segment.list().filter((s) => s.name === a.name || s.name === b.name);
    expect(mine).toHaveLength(2);
    const info = mine.find((s) => s.name === b.name)!;
    expect(info).toMatchObject({
      path: b.path,
      size: 2 * SIZE,
      status: 'ok',
      creatorPid: process.pid,
      creatorAlive: true,
      objects: 1,
      mode: 0o600,
    });
    expect(Math.abs(info.created!.getTime() - Date.now())).toBeLessThan(60_000);
    a.unlink();
    expect(Segment.list().some((s) => s.name === a.name)).toBe(false);
  });

  it('skips files that are not segments, and reports damaged ones', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shmkit-list-'));
    try {
      const good = Segment.create(segmentName('good', dir), { size: 64 * 1024, dir });
      const old = Segment.create(segmentName('old', dir), { size: 64 * 1024, dir });
      rawHeader(old)[W_VERSION] = 99;
      writeFileSync(path.join(dir, 'shmkit.junk'), new Uint8Array(4096).fill(7));
      writeFileSync(path.join(dir, 'shmkit.short'), 'x');
      writeFileSync(path.join(dir, 'unrelated'), 'y');
      mkdirSync(path.join(dir, 'shmkit.adir'));
      symlinkSync(good.path, path.join(dir, 'shmkit.link'));
      const listed = Segment.list({ dir });
      expect(listed.map((s) => [s.name, s.status])).toEqual(
        [
          [good.name, 'ok'],
          [old.name, 'incompatible'],
        ].sort(),
      );
      // unlink never follows the link; it only removes the link's own name.
      expect(Segment.unlink('link', { dir })).toBe(true);
      expect(Segment.open(good.name, { dir }).size).toBe(64 * 1024);
      unlinkSync(path.join(dir, 'unrelated'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('named objects', () => {
  it('returns the same object to every caller, and INCOMPATIBLE for another kind or params', () => {
    const seg = Segment.create(segmentName('kinds'), { size: SIZE });
    const other = Segment.open(seg.name);
    expect(other.mutex('m').memory.byteOffset).toBe(seg.mutex('m').memory.byteOffset);
    seg.semaphore('s', 2, { max: 5 });
    seg.barrier('b', 3);
    seg.latch('l', 4);
    seg.channel('c', { capacity: 4096, codec: 'utf8' });
    seg.bytes('r', 100);
    seg.condition('cv');
    seg.rwlock('rw');
    const incompatible = [
      () => other.semaphore('m'),
      () => other.mutex('s'),
      () => other.semaphore('s', 1, { max: 5 }),
      () => other.semaphore('s', 2),
      () => other.barrier('b', 4),
      () => other.latch('l', 3),
      () => other.channel('c', { capacity: 8192, codec: 'utf8' }),
      () => other.channel('c', { capacity: 4096 }),
      () => other.channel('c', { capacity: 4096, codec: 'utf8', producers: 'many' }),
      () => other.channel('c', { capacity: 4096, codec: 'utf8', consumers: 'many' }),
      () => other.bytes('r', 101),
      () => other.rwlock('cv'),
      () => other.condition('rw'),
    ];
    for (const f of incompatible) expect(codeOf(f)).toBe('INCOMPATIBLE');
    expect(other.semaphore('s', 2, { max: 5 }).value).toBe(2);
    expect(other.barrier('b', 3).parties).toBe(3);
    expect(other.latch('l', 4).count).toBe(4);
    const ch = other.channel<string>('c', { capacity: 4096, codec: 'utf8' });
    seg.channel<string>('c', { capacity: 4096, codec: 'utf8' }).send('hi');
    expect(ch.recv({ timeout: 1000 })).toBe('hi');
    for (const o of seg.objects()) expect(o.offset % 128).toBe(0);
  });

  it('attaches objects from their handles in this thread (Mutex.from)', () => {
    const seg = Segment.create(segmentName('from'), { size: SIZE });
    const m = seg.mutex('m');
    const again = Mutex.from(m.handle);
    expect(m.handle.waiter).toBe('futex');
    again.lock();
    expect(m.heldByCurrentThread).toBe(true);
    expect(codeOf(() => m.lock({ timeout: 10 }))).toBe('DEADLOCK');
    m.unlock();
    const ch = Segment.from(structuredClone(seg.handle)).channel('c', { capacity: 256 });
    ch.send(new Uint8Array([9]));
    expect(Array.from(seg.channel('c', { capacity: 256 }).recv({ timeout: 1000 }))).toEqual([9]);
  });

  it('gives 4 processes racing to create the same keys the same objects', async () => {
    const seg = Segment.create(segmentName('race'), { size: SIZE });
    const ctl = control(seg);
    const children = [0, 1, 2, 3].map(() => startChild('segment-child.mjs', ['race', seg.name]));
    await startTogether(ctl, 4);
    const seen = new Set<string>();
    for (const c of children) {
      seen.add(await c.line());
      expect((await c.exited()).code).toBe(0);
    }
    expect(seen.size).toBe(1);
    const mine = JSON.stringify([
      seg.mutex('m').memory.byteOffset,
      seg.channel('c', { capacity: 4096, producers: 'many' }).memory.byteOffset,
      seg.barrier('b', 5).memory.byteOffset,
    ]);
    expect([...seen]).toEqual([mine]);
    expect(
      seg
        .objects()
        .map((o) => o.key)
        .sort(),
    ).toEqual(['b', 'c', 'ctl', 'm']);
  });

  it('keeps 4 processes x 20k non-atomic increments exact under seg.mutex', async () => {
    const seg = Segment.create(segmentName('count'), { size: SIZE });
    const ctl = control(seg);
    const counter = words(seg, 'counter', 8);
    const n = 20_000;
    const children = [0, 1, 2, 3].map(() =>
      startChild('segment-child.mjs', ['mutex-count', seg.name, String(n)]),
    );
    await startTogether(ctl, 4);
    for (const c of children) {
      expect(await c.line(120_000)).toBe('done');
      expect((await c.exited()).code).toBe(0);
    }
    expect(counter[0]).toBe(4 * n);
    expect(seg.mutex('m').locked).toBe(false);
  });

  it('wakes a Condition waiter in another process', async () => {
    const seg = Segment.create(segmentName('cond'), { size: SIZE });
    const ctl = control(seg);
    const m = seg.mutex('cm');
    const cv = seg.condition('cv');
    const data = words(seg, 'cdata', 8);
    const c = startChild('segment-child.mjs', ['condition', seg.name]);
    await waitWhile(ctl, READY, 0);
    // The child holds the mutex until it sleeps in wait(): taking it here means it is waiting.
    await m.withLockAsync(
      () => {
        data[0] = 1;
      },
      { timeout: 20_000 },
    );
    cv.notify();
    expect(await c.line()).toBe('notified');
    expect(data[1]).toBe(2);
  });

  it('passes Semaphore permits between processes', async () => {
    const seg = Segment.create(segmentName('sem'), { size: SIZE });
    const ctl = control(seg);
    const sem = seg.semaphore('sem', 0);
    const done = seg.semaphore('done', 0);
    const c = startChild('segment-child.mjs', ['semaphore', seg.name]);
    await waitWhile(ctl, READY, 0);
    sem.release(2);
    sem.release(1);
    await done.acquireAsync({ timeout: 20_000 });
    expect(sem.value).toBe(0);
    expect(await c.line()).toBe('acquired 3');
  });

  it('delivers 100k messages from another process exactly once, in order, intact', async () => {
    const seg = Segment.create(segmentName('chan'), { size: SIZE });
    const capacity = 1 << 16;
    const ch = seg.channel('c', { capacity });
    const n = 100_000;
    const c = startChild('segment-child.mjs', [
      'produce',
      seg.name,
      '0',
      String(n),
      String(capacity),
      'one',
      'keep',
      'no-go',
    ]);
    const sums = receiveAll(ch, 1, n);
    const reported = JSON.parse(await c.line()) as { id: number; sum: number };
    expect(sums[0]).toBe(reported.sum);
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('delivers every message of 4 producer processes exactly once (many producers)', async () => {
    const seg = Segment.create(segmentName('mpsc'), { size: SIZE });
    const capacity = 1 << 14;
    const ch = seg.channel('c', { capacity, producers: 'many' });
    const ctl = control(seg);
    const n = 25_000;
    const children = [0, 1, 2, 3].map((id) =>
      startChild('segment-child.mjs', [
        'produce',
        seg.name,
        String(id),
        String(n),
        String(capacity),
        'many',
        'keep',
      ]),
    );
    await startTogether(ctl, 4);
    const sums = receiveAll(ch, 4, n);
    for (const c of children) {
      const { id, sum } = JSON.parse(await c.line()) as { id: number; sum: number };
      expect(sums[id]).toBe(sum);
    }
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('reports PEER_DEAD when the producer process died without closing, not after seg.close()', async () => {
    const seg = Segment.create(segmentName('peer'), { size: SIZE });
    const capacity = 4096;
    const ch = seg.channel('c', { capacity });
    const quitter = startChild('segment-child.mjs', [
      'produce',
      seg.name,
      '0',
      '10',
      String(capacity),
      'one',
      'keep',
      'no-go',
    ]);
    expect((await quitter.exited()).code).toBe(0);
    receiveAll(ch, 1, 10);
    expect(codeOf(() => ch.recv({ timeout: 10_000 }))).toBe('PEER_DEAD');

    const seg2 = Segment.create(segmentName('peer-closed'), { size: SIZE });
    const ch2 = seg2.channel('c', { capacity });
    const polite = startChild('segment-child.mjs', [
      'produce',
      seg2.name,
      '0',
      '10',
      String(capacity),
      'one',
      'close-segment',
      'no-go',
    ]);
    expect((await polite.exited()).code).toBe(0);
    receiveAll(ch2, 1, 10);
    expect(codeOf(() => ch2.recv({ timeout: 300 }))).toBe('TIMEOUT');
  });

  for (const producers of ['one', 'many'] as const) {
    it(`hands over everything a producer SIGKILLed mid-stream committed, then PEER_DEAD (${producers})`, async () => {
      const seg = Segment.create(segmentName(`kill-${producers}`), { size: SIZE });
      const capacity = 4096;
      const ch = seg.channel('c', { capacity, producers });
      const child = startChild('segment-child.mjs', [
        'produce',
        seg.name,
        '0',
        '1000000000',
        String(capacity),
        producers,
        'keep',
        'no-go',
      ]);
      receiveAll(ch, 1, 2000); // the producer is running flat out, the ring mostly full
      child.proc.kill('SIGKILL');
      expect((await child.exited()).signal).toBe('SIGKILL');
      // Whatever it committed before dying arrives intact and in order; then the channel says
      // its only producer is dead instead of waiting forever.
      let next = 2000;
      let code: string | undefined;
      for (;;) {
        let m: Uint8Array;
        try {
          m = ch.recv({ timeout: 10_000 });
        } catch (e) {
          code = (e as { code?: string }).code;
          break;
        }
        const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
        expect(v.getUint32(4, true)).toBe(next++);
        expect(v.getUint32(8, true)).toBe(m.length);
        for (let i = 12; i < m.length; i++) expect(m[i]).toBe(((next - 1) * 7 + i) & 0xff);
      }
      expect(code).toBe('PEER_DEAD');
    });
  }

  it('lets a worker thread of another process attach with Segment.from(handle)', async () => {
    const seg = Segment.create(segmentName('worker'), { size: SIZE });
    const counter = words(seg, 'counter', 8);
    const m = seg.mutex('m');
    const n = 10_000;
    const c = startChild('segment-child.mjs', ['worker', seg.name, String(n)]);
    for (let i = 0; i < n; i++) {
      await m.lockAsync({ timeout: 30_000 });
      counter[0] = counter[0]! + 1;
      m.unlock();
    }
    expect(JSON.parse(await c.line(60_000))).toEqual({ done: n, heldHere: true, sameOffset: true });
    expect((await c.exited()).code).toBe(0);
    expect(counter[0]).toBe(3 * n);
  });

  it('reports OWNER_DEAD to the next lock() of seg.mutex when its holder is SIGKILLed', async () => {
    const seg = Segment.create(segmentName('owner-dead'), { size: SIZE });
    const ctl = control(seg);
    const c = startChild('segment-child.mjs', ['hold-and-die', seg.name]);
    waitReady(ctl);
    const m = seg.mutex('m');
    expect(m.locked).toBe(true);
    expect(codeOf(() => m.lock({ timeout: 20_000 }))).toBe('OWNER_DEAD');
    expect(m.heldByCurrentThread).toBe(true);
    m.consistent();
    m.unlock();
    m.lock({ timeout: 1000 });
    m.unlock();
    expect((await c.exited()).signal).toBe('SIGKILL');
  });

  it('goes on creating objects when a process died holding the directory lock', async () => {
    const seg = Segment.create(segmentName('dir-dead'), { size: SIZE });
    const ctl = control(seg);
    const c = startChild('segment-child.mjs', ['hold-directory-and-die', seg.name]);
    waitReady(ctl);
    expect(seg.mutex('after').tryLock()).toBe(true);
    expect(seg.objects().map((o) => o.key)).toEqual(['ctl', 'after']);
    expect(seg.bytes('more', 8).length).toBe(8);
    expect((await c.exited()).signal).toBe('SIGKILL');
  });
});

/**
 * Receives `producers * n` messages (blocking, bounded) and checks each: its producer's next
 * sequence number, its length and every byte. Returns each producer's checksum.
 */
function receiveAll(
  ch: { recv(o: { timeout: number }): Uint8Array },
  producers: number,
  n: number,
): number[] {
  const next = new Array<number>(producers).fill(0);
  const sums = new Array<number>(producers).fill(0);
  for (let k = 0; k < producers * n; k++) {
    const m = ch.recv({ timeout: 30_000 });
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const id = v.getUint32(0, true);
    const seq = v.getUint32(4, true);
    if (id >= producers || seq !== next[id])
      throw new Error(`message ${k}: producer ${id} seq ${seq}, expected ${next[id]}`);
    next[id]!++;
    if (v.getUint32(8, true) !== m.length) throw new Error(`message ${k}: length ${m.length}`);
    for (let i = 12; i < m.length; i++) {
      if (m[i] !== ((id * 31 + seq * 7 + i) & 0xff)) throw new Error(`message ${k}: byte ${i} differs`);
    }
    let sum = sums[id]!;
    for (let i = 0; i < m.length; i++) sum = (sum + m[i]! * (i + 1)) >>> 0;
    sums[id] = sum;
  }
  return sums;
}
