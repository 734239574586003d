// Files a careless or hostile user plants under a segment's name, and headers with bad fields:
// every case ends in a documented error code (or is tolerated), never a crash, a hang or a huge
// mapping.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmdirSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMappedFile, openMappedFile, Segment, SHM_DIR } from '@shmkit/segment';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, removeSegments, segmentName } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const planted = new Set<string>();
const fileOf = (name: string): string => `${SHM_DIR}/shmkit.${name}`;

afterEach(() => {
  for (const p of planted) rmSync(p, { recursive: true, force: true });
  planted.clear();
  removeSegments();
});

/** Mappings of `file` in this process, in bytes each. */
function mappingSizes(file: string): number[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(file) || l.endsWith(`${file} (deleted)`))
    .map((l) => {
      const [a, b] = l.split(' ')[0]!.split('-');
      return Number.parseInt(b!, 16) - Number.parseInt(a!, 16);
    });
}

describe('planted files under a segment name', () => {
  it('refuses a directory and a socket with INVALID_ARGUMENT, as a FIFO', async () => {
    const dirName = segmentName('dir');
    mkdirSync(fileOf(dirName));
    planted.add(fileOf(dirName));
    expect(codeOf(() => Segment.open(dirName))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => Segment.create(dirName, { size: 1 << 16, exclusive: false }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => Segment.create(dirName, { size: 1 << 16 }))).toBe('EXISTS');

    const sockName = segmentName('sock');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(fileOf(sockName), resolve));
    planted.add(fileOf(sockName));
    try {
      expect(codeOf(() => Segment.open(sockName))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => Segment.create(sockName, { size: 1 << 16, exclusive: false }))).toBe(
        'INVALID_ARGUMENT',
      );
      expect(Segment.list().map((s) => s.name)).not.toContain(sockName);
    } finally {
      await new Promise((r) => server.close(r));
    }
    rmdirSync(fileOf(dirName));
    planted.delete(fileOf(dirName));
  });

  it('waits for the magic of a planted sparse 1 TiB file with one page mapped, then NOT_FOUND', async () => {
    const name = segmentName('sparse');
    closeSync(openSync(fileOf(name), 'w', 0o600));
    planted.add(fileOf(name));
    truncateSync(fileOf(name), 2 ** 40);
    expect(codeOf(() => Segment.open(name, { timeout: 100 }))).toBe('NOT_FOUND');
    await expect(Segment.openAsync(name, { timeout: 100 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Every poll mapped the header page only (the mappings linger until V8 collects them).
    const sizes = mappingSizes(fileOf(name));
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
  });

  it('maps errno by the call that failed: mmap ENOMEM of a 200 TiB file is TOO_LARGE', () => {
    const name = segmentName('huge');
    closeSync(openSync(fileOf(name), 'w', 0o600));
    planted.add(fileOf(name));
    truncateSync(fileOf(name), 200 * 2 ** 40);
    expect(codeOf(() => openMappedFile(fileOf(name)))).toBe('TOO_LARGE');
    // The same file opened with a probe limit maps fine.
    expect(openMappedFile(fileOf(name), { mapLimit: 4096 }).buffer!.byteLength).toBe(4096);
    expect(codeOf(() => createMappedFile(fileOf(name), { size: 4096 }))).toBe('EXISTS');
  });
});

describe('header fields any process can write', () => {
  /** A real segment whose creation time (header words 8-9) is rewritten with `hi`. */
  function withCreationTime(hi: number): string {
    const name = segmentName('ctime');
    Segment.create(name, { size: 1 << 16 }).close();
    const fd = openSync(fileOf(name), 'r+');
    const word = Buffer.alloc(4);
    word.writeUInt32LE(hi >>> 0);
    writeSync(fd, word, 0, 4, 36);
    closeSync(fd);
    return name;
  }

  it('lists a segment whose creation time is no valid date, with created undefined', () => {
    const name = withCreationTime(0xffffffff);
    const info = Segment.list().find((s) => s.name === name)!;
    expect(info.status).toBe('ok');
    expect(info.created).toBeUndefined();
    const seg = Segment.open(name);
    expect(seg.created).toBeUndefined();
    seg.close();
  });

  it('lets `shmkit segments list` and `inspect` show it (exit 0)', () => {
    const name = withCreationTime(0xffffffff);
    const cli = path.join(root, 'packages/bench/bin/shmkit.mjs');
    const list = spawnSync(process.execPath, [cli, 'segments', 'list'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain(name);
    const readable = spawnSync(process.execPath, [cli, 'segments', 'inspect', name], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(readable.status, readable.stderr).toBe(0);
    expect(readable.stdout).toContain(name);
    const inspect = spawnSync(process.execPath, [cli, 'segments', 'inspect', name, '--json'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(inspect.status, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).name).toBe(name);
  });
});
