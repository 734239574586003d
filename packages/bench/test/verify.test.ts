import {
  builtinObject,
  bytesTemplate,
  FrameReader,
  frame,
  MessageMaker,
  makePool,
  stamp,
  Verifier,
} from '@shmkit/bench';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function bytesRun(n: number, size: number): Uint8Array[] {
  const maker = new MessageMaker('bytes', size);
  return Array.from({ length: n }, (_, i) => maker.bytes(i).slice());
}

describe('Verifier', () => {
  it('accepts exactly the messages a sender makes', () => {
    const v = new Verifier('bytes', 100);
    for (const m of bytesRun(50, 100)) v.accept(m);
    expect(v.verdict(50)).toEqual({ verified: true, why: undefined });
  });

  it('rejects a lost message', () => {
    const v = new Verifier('bytes', 100);
    const ms = bytesRun(50, 100);
    ms.splice(20, 1);
    for (const m of ms) v.accept(m);
    expect(v.verdict(50).verified).toBe(false);
  });

  it('rejects a duplicated message', () => {
    const v = new Verifier('bytes', 100);
    const ms = bytesRun(50, 100);
    ms.splice(10, 0, ms[10]!);
    for (const m of ms.slice(0, 50)) v.accept(m);
    expect(v.verdict(50).verified).toBe(false);
  });

  it('rejects a truncated message', () => {
    const v = new Verifier('bytes', 100);
    const ms = bytesRun(5, 100);
    ms[3] = ms[3]!.subarray(0, 99);
    for (const m of ms) v.accept(m);
    expect(v.verdict(5)).toMatchObject({ verified: false, why: expect.stringMatching(/length/) });
  });

  it('rejects corrupted content in a sampled message', () => {
    const v = new Verifier('bytes', 100);
    const ms = bytesRun(20, 100);
    const m16 = ms[16]!;
    m16[50] = m16[50]! ^ 1;
    for (const m of ms) v.accept(m);
    expect(v.verdict(20)).toMatchObject({ verified: false, why: expect.stringMatching(/content/) });
  });

  it('rejects an object whose body changed', () => {
    const pool = makePool(builtinObject);
    const v = new Verifier('object', 0, pool);
    v.accept({ seq: 0, body: { ...(pool[0] as object), total: -1 } });
    expect(v.verdict(1).verified).toBe(false);
  });

  it('stamps the sequence number at both ends', () => {
    const m = bytesTemplate(16);
    stamp(m, 0x01020304);
    expect([...m.subarray(0, 4)]).toEqual([4, 3, 2, 1]);
    expect([...m.subarray(12)]).toEqual([4, 3, 2, 1]);
  });
});

describe('FrameReader', () => {
  it('reassembles frames from any split of the byte stream (seeded)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 30 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => frame(p)));
          const got: Uint8Array[] = [];
          const reader = new FrameReader((f) => got.push(Uint8Array.from(f)));
          for (let off = 0, i = 0; off < stream.length; i++) {
            const len = cuts[i % cuts.length]!;
            reader.push(stream.subarray(off, off + len));
            off += len;
          }
          expect(got).toEqual(payloads.map((p) => Uint8Array.from(p)));
        },
      ),
      { seed: 20261126, numRuns: 200 },
    );
  });

  it('refuses a frame length beyond the limit instead of allocating it', () => {
    const reader = new FrameReader(() => {});
    expect(() => reader.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/corrupt/);
  });
});
