import { mkdtempSync, readFileSync, rmSync, statfsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ShmkitError } from '@shmkit/core';
import {
  createMappedFile,
  flushMappedFile,
  openMappedFile,
  SHM_DIR,
  unlinkMappedFile,
} from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import { bounded, cleanUpTestFiles, testFile, testPath } from './helpers.js';

cleanUpTestFiles();

describe('mapped segment files', () => {
  it('hands out a real SharedArrayBuffer over zeroed shared memory', () => {
    const f = testFile('sab', 8192);
    expect(f.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(f.buffer!.byteLength).toBe(8192);
    expect(f.created).toBe(true);
    expect(new Uint8Array(f.buffer!).every((b) => b === 0)).toBe(true);
    // A second mapping of the file is the same memory.
    const again = openMappedFile(f.path);
    expect(again.created).toBe(false);
    Atomics.store(new Int32Array(f.buffer!), 5, 42);
    expect(Atomics.load(new Int32Array(again.buffer!), 5)).toBe(42);
  });

  it('shares the mapping with a worker thread it is posted to', async () => {
    const f = testFile('post');
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.once('message', (sab) => { Atomics.store(new Int32Array(sab), 0, 99); parentPort.postMessage('done'); });`,
      { eval: true },
    );
    w.postMessage(f.buffer);
    await bounded(new Promise((r) => w.once('message', r)), 20_000, 'worker');
    await w.terminate();
    expect(Atomics.load(new Int32Array(f.buffer!), 0)).toBe(99);
  });

  it('creates files with mode 0600 by default, whatever the umask', () => {
    const old = process.umask(0o022);
    try {
      const f = testFile('mode');
      expect(statSync(f.path).mode & 0o777).toBe(0o600);
      expect(f.mode).toBe(0o600);
      expect(f.uid).toBe(process.getuid!());
    } finally {
      process.umask(old);
    }
  });

  it('applies an explicit mode exactly, even bits the umask would clear', () => {
    const old = process.umask(0o077);
    try {
      const f = createMappedFile(testPath('mode640'), { size: 4096, mode: 0o640 });
      expect(statSync(f.path).mode & 0o777).toBe(0o640);
    } finally {
      process.umask(old);
    }
  });

  it('refuses to create an existing file exclusively, with EXISTS and a clear message', () => {
    const f = testFile('excl');
    let error: unknown;
    try {
      createMappedFile(f.path, { size: 4096 });
    } catch (e) {
      error = e;
    }
    expect(ShmkitError.is(error, 'EXISTS')).toBe(true);
    expect((error as Error).message).toContain(`${f.path} already exists (EEXIST)`);
  });

  it('opens an existing file when not exclusive', () => {
    const f = testFile('shared', 4096);
    new Int32Array(f.buffer!)[0] = 7;
    const g = createMappedFile(f.path, { size: 4096, exclusive: false });
    expect(g.created).toBe(false);
    expect(new Int32Array(g.buffer!)[0]).toBe(7);
  });

  it('reports a full /dev/shm at create time as TOO_LARGE and leaves no file', () => {
    const fs = statfsSync(SHM_DIR);
    const tooBig = fs.blocks * fs.bsize + 4096;
    const p = testPath('enospc');
    let error: unknown;
    try {
      createMappedFile(p, { size: tooBig });
    } catch (e) {
      error = e;
    }
    expect(ShmkitError.is(error, 'TOO_LARGE')).toBe(true);
    expect((error as Error).message).toMatch(/no room for \d+ bytes in \/dev\/shm \(ENOSPC/);
    expect(unlinkMappedFile(p)).toBe(false);
  });

  it('reports a missing file as NOT_FOUND', () => {
    expect(codeOf(() => openMappedFile(testPath('missing')))).toBe('NOT_FOUND');
  });

  it('refuses to follow a symbolic link', () => {
    const target = testFile('target');
    const link = testPath('link');
    symlinkSync(target.path, link);
    expect(codeOf(() => openMappedFile(link))).toBe('PERMISSION');
    expect(codeOf(() => createMappedFile(link, { size: 4096, exclusive: false }))).toBe('PERMISSION');
  });

  it('returns no buffer for a file that is still empty', () => {
    const p = testPath('empty');
    writeFileSync(p, '', { mode: 0o600 });
    const f = openMappedFile(p);
    expect(f.buffer).toBeNull();
    expect(f.size).toBe(0);
  });

  it('validates paths, sizes and modes', () => {
    expect(codeOf(() => createMappedFile('relative', { size: 4096 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => createMappedFile(testPath('zero'), { size: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => createMappedFile(testPath('mode'), { size: 4096, mode: 0o4755 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => openMappedFile('/dev/shm/a\0b'))).toBe('INVALID_ARGUMENT');
  });

  it('unlinks a file once, then reports it gone', () => {
    const f = testFile('unlink');
    expect(unlinkMappedFile(f.path)).toBe(true);
    expect(unlinkMappedFile(f.path)).toBe(false);
    // The mapping outlives the name.
    Atomics.store(new Int32Array(f.buffer!), 0, 1);
  });

  it('flushes a file-backed segment to disk', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shmkit-flush-'));
    try {
      const f = createMappedFile(path.join(dir, 'data'), { size: 4096 });
      new Uint8Array(f.buffer!).set([1, 2, 3], 100);
      flushMappedFile(f.buffer!);
      flushMappedFile(new Uint8Array(f.buffer!, 100, 3));
      expect([...readFileSync(f.path).subarray(100, 103)]).toEqual([1, 2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
