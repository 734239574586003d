import {
  alignUp,
  CACHE_LINE,
  Deadline,
  defineTag,
  ErrorCodes,
  heapWaiter,
  LayoutBuilder,
  pendingEventLoopHolds,
  Region,
  ShmkitError,
  TAG_KIND_MASK,
  tagMismatch,
  tagName,
  tagVersion,
  validateAsyncOptions,
  validateTimeout,
} from '@shmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('ShmkitError', () => {
  it('carries a code, a name and a cause', () => {
    const e = new ShmkitError('TIMEOUT', 'late', { cause: 1 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ShmkitError');
    expect(e.code).toBe('TIMEOUT');
    expect(e.cause).toBe(1);
    expect(ShmkitError.is(e, 'TIMEOUT')).toBe(true);
    expect(ShmkitError.is(e, 'CLOSED')).toBe(false);
    expect(ErrorCodes).toContain('NOT_RECOVERABLE');
  });
});

describe('timeouts', () => {
  it('accepts non-negative numbers and Infinity, refuses the rest with INVALID_ARGUMENT', () => {
    expect(validateTimeout(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(validateTimeout(0)).toBe(0);
    expect(validateTimeout(2.5)).toBe(2.5);
    for (const bad of [Number.NaN, -1, '1', null, {}]) {
      expect(() => validateTimeout(bad)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => validateAsyncOptions({ signal: 'x' as never })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('counts a deadline down and never below zero', () => {
    expect(new Deadline(Number.POSITIVE_INFINITY).remaining()).toBe(Number.POSITIVE_INFINITY);
    const d = new Deadline(0);
    expect(d.remaining()).toBe(0);
    expect(d.expired()).toBe(true);
  });
});

describe('layout', () => {
  it('aligns fields and isolates cache lines', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.constantFrom(4, 8, 16, 128), (n, a) => {
        const r = alignUp(n, a);
        return r >= n && r % a === 0 && r - n < a;
      }),
    );
    const l = new LayoutBuilder();
    expect(l.field(4)).toBe(0);
    expect(l.isolated(4)).toBe(CACHE_LINE);
    expect(l.field(8, 8)).toBe(2 * CACHE_LINE);
    expect(l.size()).toBe(2 * CACHE_LINE + 8);
  });

  it('registers type tags once per kind, with the layout version in the high byte', () => {
    const t = defineTag('T1', 'TestThing', 1);
    // Little-endian bytes 'S', 'T', '1', 0x01 (docs/format.md, "Type tags and layout versions").
    expect(t).toBe(0x01315453);
    expect(tagName(t)).toBe('TestThing');
    expect(tagVersion(t)).toBe(1);
    expect(defineTag('T1', 'TestThing', 1)).toBe(t);
    // Another version of the same kind is the same type...
    expect(tagName(defineTag('T1', 'TestThing', 2))).toBe('TestThing');
    // ...but a kind belongs to one type only.
    expect(() => defineTag('T1', 'Other', 1)).toThrow();
    expect(() => defineTag('Tst1', 'Legacy', 1)).toThrow(RangeError);
    expect(() => defineTag('T2', 'Versionless', 0)).toThrow(RangeError);
  });

  it('tells apart uninitialised memory, another layout version and another kind on attach', () => {
    const v1 = defineTag('T3', 'Thing3', 1);
    const other = defineTag('T4', 'Thing4', 1);
    expect(tagMismatch(0, v1, 'Thing3').message).toMatch(/not initialised yet/);
    const v2 = (v1 & TAG_KIND_MASK) | (2 << 24);
    expect(tagMismatch(v2, v1, 'Thing3').message).toMatch(/layout version 2; this shmkit reads version 1/);
    expect(tagMismatch(other, v1, 'Thing3').message).toMatch(/points at a Thing4, not a Thing3/);
    expect(tagMismatch(0x12345678, v1, 'Thing3').message).toMatch(/type tag 0x12345678/);
    for (const e of [tagMismatch(0, v1, 'Thing3'), tagMismatch(v2, v1, 'Thing3')]) {
      expect(e.code).toBe('INCOMPATIBLE');
    }
  });
});

describe('Region', () => {
  it('refuses ranges outside the buffer and misaligned offsets', () => {
    const sab = new SharedArrayBuffer(64);
    expect(new Region(sab, 8, 16).int32().length).toBe(4);
    for (const [o, n] of [
      [4, 8],
      [0, 65],
      [-8, 8],
      [64, 8],
    ] as const) {
      expect(() => new Region(sab, o, n)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => new Region(new ArrayBuffer(8) as never)).toThrowError(ShmkitError);
    expect(() => new Region(sab).slice(60, 8)).toThrowError(ShmkitError);
  });
});

describe('heap waiter', () => {
  it('waits, times out, and wakes async waiters', async () => {
    const i32 = new Int32Array(new SharedArrayBuffer(8));
    expect(heapWaiter.wait(i32, 0, 1, 0)).toBe('not-equal');
    expect(heapWaiter.wait(i32, 0, 0, 1)).toBe('timed-out');
    const p = heapWaiter.waitAsync(i32, 0, 0, Number.POSITIVE_INFINITY);
    expect(pendingEventLoopHolds()).toBe(1);
    Atomics.store(i32, 0, 1);
    expect(heapWaiter.notify(i32, 0, Number.POSITIVE_INFINITY)).toBe(1);
    expect(await p).toBe('ok');
    expect(pendingEventLoopHolds()).toBe(0);
  });

  it('passes on a wake-up that reaches an aborted async waiter', async () => {
    const i32 = new Int32Array(new SharedArrayBuffer(8));
    const ac = new AbortController();
    const abandoned = heapWaiter.waitAsync(i32, 0, 0, Number.POSITIVE_INFINITY, ac.signal);
    const live = heapWaiter.waitAsync(i32, 0, 0, 10_000);
    ac.abort();
    await expect(abandoned).rejects.toMatchObject({ code: 'ABORTED' });
    // notify(1) reaches the abandoned waiter first (FIFO); it must be forwarded to the live one.
    heapWaiter.notify(i32, 0, 1);
    expect(await live).toBe('ok');
  });
});

describe('failpoints', () => {
  it('a process whose SHMKIT_FAILPOINT names a point SIGKILLs itself there, and only there', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `import { failpoint } from '@shmkit/core';
      failpoint('mutex.after-lock'); console.log('passed mutex');
      failpoint('channel.after-claim'); console.log('not reached');`;
    const run = (env: string | undefined) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, SHMKIT_FAILPOINT: env },
      });
    const armed = run('channel.after-claim');
    expect(armed.signal).toBe('SIGKILL');
    expect(armed.stdout).toBe('passed mutex\n');
    const off = run('');
    expect(off.status).toBe(0);
    expect(off.stdout).toBe('passed mutex\nnot reached\n');
  });
});
