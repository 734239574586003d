/**
 * close({ unmap: true }) and Symbol.dispose: the file's pages go back at once, not when V8
 * collects the last buffer, and what is left of the mapping reads zeros instead of faulting.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { futexWaiter, Segment } from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { cleanUpTestSegments, segmentName } from './helpers.js';

cleanUpTestSegments();

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Mappings of `file` in this process. */
function mapped(file: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes(file)).length;
}

describe('Segment unmap and dispose', () => {
  it('drops the mapping at once with close({ unmap: true }); stale views read zeros, waits are CLOSED', () => {
    const seg = Segment.create(segmentName('unmap'), { size: 1 << 20 });
    const b = seg.bytes('b', 4096);
    b.fill(9);
    const words = new Int32Array(b.buffer, b.byteOffset, 4);
    const file = seg.path;
    expect(mapped(file)).toBe(1);
    seg.unlink();
    seg.close({ unmap: true });
    expect(mapped(file)).toBe(0);
    expect(seg.intact).toBe(false);
    expect(b[0]).toBe(0); // a private zero page now: no SIGSEGV, no shared memory
    b[1] = 5;
    expect(b[1]).toBe(5);
    expect(() => futexWaiter.wait(words, 0, 0, 10)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(() => seg.mutex('m')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    seg.close({ unmap: true }); // idempotent
    expect(() => seg.close({ unmap: 1 as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('closes at the end of a `using` block (Symbol.dispose)', () => {
    const name = segmentName('using');
    let outside: Segment;
    {
      using seg = Segment.create(name, { size: 1 << 16 });
      outside = seg;
      expect(seg.closed).toBe(false);
    }
    expect(outside.closed).toBe(true);
    expect(() => outside.mutex('m')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('keeps no channel it handed out alive, so a synchronous loop does not pile up mappings', () => {
    // Everything below runs in one job: a WeakRef made here would keep its target (and so the
    // segment's mapping) alive until the job ends.
    const names: string[] = [];
    for (let i = 0; i < 40; i++) {
      const seg = Segment.create(segmentName('loop'), { size: 1 << 16 });
      names.push(seg.path);
      seg.channel('c', { capacity: 4096 }).send(new Uint8Array([i]));
      seg.unlink();
      seg.close();
    }
    const still = (): number => names.reduce((n, f) => n + mapped(f), 0);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const end = performance.now() + 10_000;
    do {
      gc();
      Atomics.wait(nap, 0, 0, 20); // the unmapping runs on another thread
    } while (still() > 2 && performance.now() < end);
    // Pinned by a WeakRef, all 40 would still be mapped; one or two recent ones may still be
    // referenced from caches of the last operation.
    expect(still()).toBeLessThanOrEqual(2);
  });
});
