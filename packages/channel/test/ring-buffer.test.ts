import { RingBuffer } from '@shmkit/channel';
import fc from 'fast-check';
import { RingBuffer as Reference } from 'ringbuf.js';
import { describe, expect, it } from 'vitest';
import { runWorker, withTimeout } from '../../../test/helpers/workers.js';

describe('RingBuffer', () => {
  it('behaves like ringbuf.js 0.4 for any sequence of push, pop and writeCallback, through any of three objects on one buffer (fast-check)', () => {
    // Several objects take turns on each side (as code that re-creates its RingBuffer does), so
    // an index cached by one object while another moves the ring would show up as a difference.
    const who = fc.nat(2);
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('push' as const),
        who,
        n: fc.nat(40),
        len: fc.option(fc.nat(40)),
        off: fc.nat(5),
      }),
      fc.record({
        kind: fc.constant('pop' as const),
        who,
        n: fc.nat(40),
        len: fc.option(fc.nat(40)),
        off: fc.nat(5),
      }),
      fc.record({ kind: fc.constant('cb' as const), who, n: fc.nat(40), ret: fc.option(fc.nat(40)) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(op, { maxLength: 80 }), (capacity, ops) => {
        const sab = RingBuffer.getStorageForCapacity(capacity, Float32Array);
        const objects = [0, 1, 2].map(() => new RingBuffer(sab, Float32Array));
        let ours = objects[0]!;
        const ref = new Reference(Reference.getStorageForCapacity(capacity, Float32Array), Float32Array);
        let counter = 0;
        expect(ours.capacity()).toBe(ref.capacity());
        expect(ours.type()).toBe(ref.type());
        for (const o of ops) {
          ours = objects[o.who]!;
          if (o.kind === 'push') {
            const src = Float32Array.from({ length: o.n + o.off }, () => counter++);
            const len = o.len === null ? undefined : Math.min(o.len, o.n);
            // Without a length, ours stops at the end of src; ringbuf.js would read o.off past it.
            expect(ours.push(src, len, o.off)).toBe(ref.push(src, len ?? o.n, o.off));
          } else if (o.kind === 'pop') {
            const a = new Float32Array(o.n + o.off);
            const b = new Float32Array(o.n + o.off);
            const len = o.len === null ? undefined : Math.min(o.len, o.n);
            expect(ours.pop(a, len, o.off)).toBe(ref.pop(b, len ?? o.n, o.off));
            expect(Array.from(a)).toEqual(Array.from(b));
          } else {
            const fill = (x: Float32Array, y: Float32Array): number | undefined => {
              x.fill(counter);
              y.fill(counter + 1);
              return o.ret === null ? undefined : Math.min(o.ret, x.length + y.length);
            };
            const start = counter;
            const w1 = ours.writeCallback(o.n, (x, y) => fill(x as Float32Array, y as Float32Array));
            counter = start;
            const w2 = ref.writeCallback(o.n, (x, y) => fill(x as Float32Array, y as Float32Array) ?? 0);
            counter = start + 2;
            expect(w1).toBe(w2);
          }
          expect(ours.availableRead()).toBe(ref.availableRead());
          expect(ours.available_write()).toBe(ref.available_write());
          expect(ours.empty()).toBe(ref.empty());
          expect(ours.full()).toBe(ref.full());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('writes in place without allocating through writeCallbackWithOffset', () => {
    const rb = new RingBuffer(RingBuffer.getStorageForCapacity(8, Int16Array), Int16Array);
    const wrote = rb.writeCallbackWithOffset(5, (storage, o1, n1, o2, n2) => {
      for (let i = 0; i < n1; i++) storage[o1 + i] = i + 1;
      for (let i = 0; i < n2; i++) storage[o2 + i] = 100 + i;
      return n1 + n2;
    });
    expect(wrote).toBe(5);
    const out = new Int16Array(5);
    expect(rb.pop(out)).toBe(5);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5]);
  });

  it('streams 1M samples from a worker, in order, with blocking push and async pop', async () => {
    const rb = new RingBuffer(RingBuffer.getStorageForCapacity(4096, Float32Array), Float32Array);
    const total = 1_000_000;
    const producer = runWorker(
      new URL('./fixtures/ring-worker.ts', import.meta.url),
      { ring: rb.handle, total, chunk: 300 },
      60_000,
    );
    const out = new Float32Array(512);
    let next = 0;
    let bad = 0;
    await withTimeout(
      (async () => {
        while (next < total) {
          const n = await rb.popAsync(out, { timeout: 30_000 });
          for (let i = 0; i < n; i++) if (out[i] !== next + i) bad++;
          next += n;
        }
      })(),
      60_000,
      'consumer',
    );
    await producer;
    expect(next).toBe(total);
    expect(bad).toBe(0);
    expect(rb.empty()).toBe(true);
  });

  it('streams the other way with both sides sleeping often: async push on main, blocking pop with min in a worker', async () => {
    // A ring of 7 and pops that wait for 5: each side keeps finding the ring full or short and
    // sleeps on the other's index word, so a lost wake-up would end in TIMEOUT.
    const rb = new RingBuffer(RingBuffer.getStorageForCapacity(7, Float64Array), Float64Array);
    const total = 20_000;
    const consumer = runWorker<{ got: number; bad: number }>(
      new URL('./fixtures/ring-consumer.ts', import.meta.url),
      { ring: rb.handle, total, chunk: 6, min: 5 },
      60_000,
    );
    const chunk = new Float64Array(3);
    for (let next = 0; next < total; next += chunk.length) {
      for (let i = 0; i < chunk.length; i++) chunk[i] = next + i;
      const n = Math.min(chunk.length, total - next);
      expect(await rb.pushAsync(chunk, { length: n, timeout: 30_000 })).toBe(n);
    }
    expect(await consumer).toEqual({ got: total, bad: 0 });
    expect(rb.empty()).toBe(true);
  });

  it('re-attaches from a handle and refuses another element type', () => {
    const sab = RingBuffer.getStorageForCapacity(16, Float64Array);
    const rb = new RingBuffer(sab, Float64Array);
    rb.push(new Float64Array([1.5, 2.5]));
    const again = RingBuffer.from(structuredClone(rb.handle));
    const out = new Float64Array(2);
    expect(again.pop(out)).toBe(2);
    expect(Array.from(out)).toEqual([1.5, 2.5]);
    expect(() => new RingBuffer(sab, Int32Array)).toThrowError(
      expect.objectContaining({ code: 'INCOMPATIBLE' }),
    );
    expect(() => RingBuffer.getStorageForCapacity(0, Float32Array)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('times out blocking helpers and validates their options', async () => {
    const rb = new RingBuffer(RingBuffer.getStorageForCapacity(4, Uint8Array), Uint8Array);
    expect(() => rb.popBlocking(new Uint8Array(1), { timeout: 5 })).toThrowError(
      expect.objectContaining({ code: 'TIMEOUT' }),
    );
    expect(rb.pushBlocking(new Uint8Array([1, 2, 3, 4]))).toBe(4);
    await expect(rb.pushAsync(new Uint8Array([5]), { timeout: 5 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await expect(rb.popAsync(new Uint8Array(1), { timeout: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
