/** Segment.list: the inventory of segment files in a directory, damaged and foreign files included. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Segment } from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { W_VERSION } from '../dist/header.js';
import { rawHeader, SIZE } from './control.js';
import { cleanUpTestSegments, segmentName } from './helpers.js';

cleanUpTestSegments();

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
