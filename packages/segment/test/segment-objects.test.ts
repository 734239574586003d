/**
 * Named objects of a segment: get-or-create with INCOMPATIBLE for another kind or params,
 * attaching from handles, and the primitives shared by processes racing, counting, waiting and
 * dying (OWNER_DEAD, a directory lock held by a dead process).
 */
import { Segment } from '@shmkit/segment';
import { Mutex } from '@shmkit/sync';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import { control, READY, SIZE, startTogether, waitReady, words } from './control.js';
import { cleanUpTestSegments, segmentName, startChild, waitWhile } from './helpers.js';

cleanUpTestSegments();

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
