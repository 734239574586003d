/**
 * Segment's lifecycle: create, open (blocking and async, waiting for a creator), unlink, close and
 * the thread-table slot it gives back, file modes, segments in a disk directory.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ShmkitError, TOKEN_MASK } from '@shmkit/core';
import { Segment, segmentIdentity } from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import { SIZE, words } from './control.js';
import { cleanUpTestSegments, segmentName, startChild } from './helpers.js';

cleanUpTestSegments();

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
