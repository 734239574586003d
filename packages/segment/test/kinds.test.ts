/**
 * The object-kinds table seen through Segment: every kind round-trips through the directory with
 * its params, and seg.struct / seg.structArray (any type of the SegmentStructType shape; the real
 * one is @shmkit/struct's) are get-or-create with INCOMPATIBLE on another layout.
 */
import { Segment, type SegmentStructType } from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { cleanUpTestSegments, segmentName } from './helpers.js';

cleanUpTestSegments();

/** A two-field struct type: u32 `n` at 0, f64 `x` at 8 (16 bytes). */
function pointType(layoutHash: number): SegmentStructType<DataView, DataView[]> {
  return {
    byteLength: 16,
    alignment: 8,
    layoutHash,
    view: (buffer, byteOffset) => new DataView(buffer, byteOffset, 16),
    array: (buffer, byteOffset, length) =>
      Array.from({ length }, (_, i) => new DataView(buffer, byteOffset + 16 * i, 16)),
  };
}

describe('object kinds', () => {
  it('lists every kind with its params in words', () => {
    const seg = Segment.create(segmentName('kinds'), { size: 1 << 20 });
    seg.mutex('m');
    seg.semaphore('s', 2, { max: 5 });
    seg.barrier('b', 3);
    seg.latch('l', 4);
    seg.channel('c', { capacity: 4096, codec: 'utf8', producers: 'many' });
    seg.bytes('raw', 100);
    seg.struct('p', pointType(0x1234));
    const byKey = Object.fromEntries(seg.objects().map((o) => [o.key, `${o.kind}: ${o.params}`]));
    expect(byKey).toEqual({
      m: 'Mutex: no parameters',
      s: 'Semaphore: initial 2, max 5',
      b: 'Barrier: 3 parties',
      l: 'Latch: count 4',
      c: "Channel: capacity 4096, producers 'many', consumers 'one', codec utf8",
      raw: 'bytes region: 100 bytes',
      p: 'struct: layout hash 1234, 1 x 16 bytes',
    });
    seg.close();
  });

  it('gets or creates a named struct and struct array, shared by every attacher', () => {
    const name = segmentName('struct');
    const a = Segment.create(name, { size: 1 << 16 });
    const P = pointType(0xabc);
    a.struct('p', P).setUint32(0, 7, true);
    const b = Segment.open(name);
    expect(b.struct('p', P).getUint32(0, true)).toBe(7);
    const arr = b.structArray('ps', P, 3);
    arr[2]!.setFloat64(8, 2.5, true);
    expect(a.structArray('ps', P, 3)[2]!.getFloat64(8, true)).toBe(2.5);
    a.close();
    b.close();
  });

  it('refuses another layout, length or shape under the same key with INCOMPATIBLE', () => {
    const seg = Segment.create(segmentName('struct-bad'), { size: 1 << 16 });
    const P = pointType(1);
    seg.struct('p', P);
    seg.structArray('ps', P, 2);
    const code = (fn: () => unknown): string => {
      try {
        fn();
        return 'none';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code(() => seg.struct('p', pointType(2)))).toBe('INCOMPATIBLE');
    expect(code(() => seg.structArray('p', P, 1))).toBe('INCOMPATIBLE');
    expect(code(() => seg.structArray('ps', P, 3))).toBe('INCOMPATIBLE');
    expect(code(() => seg.mutex('p'))).toBe('INCOMPATIBLE');
    expect(code(() => seg.struct('q', {} as never))).toBe('INVALID_ARGUMENT');
    expect(code(() => seg.structArray('q', P, 0))).toBe('INVALID_ARGUMENT');
    seg.close();
  });
});
