// The data path's newer ways in and out: recvInto, batches (sendMany/recvMany/poll), messages
// larger than one frame, and Symbol.dispose. Threads are real workers; every wait is bounded.
import { Channel } from '@shmkit/channel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import { runWorker, runWorkers } from '../../../test/helpers/workers.js';
import { exchange } from './fixtures/exchange.js';
import { checkSized, makeSized } from './fixtures/messages.js';

const worker = new URL('./fixtures/channel-worker.ts', import.meta.url);
type Mode = 'one' | 'many';

describe('batch paths between worker threads', () => {
  const modes: [Mode, Mode, number, number][] = [
    ['one', 'one', 1, 1],
    ['many', 'one', 3, 1],
    ['one', 'many', 1, 2],
    ['many', 'many', 2, 2],
  ];
  for (const [pmode, cmode, producers, consumers] of modes) {
    for (const consume of ['consume-many', 'consume-poll', 'consume-into']) {
      it(`delivers sendMany batches exactly once and in order to ${consume} (${producers} ${pmode} producers, ${consumers} ${cmode} consumers)`, async () => {
        await exchange({
          producers,
          consumers,
          pmode,
          cmode,
          produce: 'produce-batch',
          consume,
          count: 2500,
        });
      });
    }
  }
});

describe('recvInto', () => {
  it('copies the exact bytes and returns the length; tryRecvInto gives -1 when empty', () => {
    const ch = new Channel({ capacity: 1024 });
    const target = new Uint8Array(300).fill(9);
    expect(ch.tryRecvInto(target)).toBe(-1);
    const small = makeSized(1, 0, 40);
    const big = makeSized(1, 1, 300);
    ch.send(small);
    ch.send(big);
    expect(ch.recvInto(target)).toBe(40);
    expect(checkSized(target.subarray(0, 40))).toEqual([1, 0]);
    expect(target[40]).toBe(9);
    expect(ch.tryRecvInto(target)).toBe(300);
    expect(checkSized(target)).toEqual([1, 1]);
  });

  it('throws TOO_LARGE for a short target and keeps the message queued, in every consumer mode', () => {
    for (const consumers of ['one', 'many'] as const) {
      const ch = new Channel({ capacity: 1024, producers: 'many', consumers });
      ch.send(makeSized(2, 0, 100));
      expect(codeOf(() => ch.recvInto(new Uint8Array(99)))).toBe('TOO_LARGE');
      expect(codeOf(() => ch.tryRecvInto(new Uint8Array(10)))).toBe('TOO_LARGE');
      expect(checkSized(ch.recv())).toEqual([2, 0]);
    }
  });

  it('keeps a reassembled message queued when the target is too short', async () => {
    const ch = new Channel({ capacity: 1024 });
    const m = makeSized(3, 0, 5000);
    const sending = ch.sendAsync(m, { timeout: 10_000 });
    const target = new Uint8Array(6000);
    let code = 'none';
    try {
      await ch.recvIntoAsync(new Uint8Array(100), { timeout: 10_000 });
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe('TOO_LARGE');
    await sending;
    expect(ch.recvInto(target)).toBe(5000);
    expect(checkSized(target.subarray(0, 5000))).toEqual([3, 0]);
  });
});

describe('poll', () => {
  it('hands each message in place, up to the limit, releasing once', () => {
    const ch = new Channel({ capacity: 4096 });
    for (let i = 0; i < 10; i++) ch.send(makeSized(0, i, 20 + i));
    const got: number[] = [];
    expect(ch.poll((buf, off, len) => got.push(checkSized(buf.subarray(off, off + len))[1]), 4)).toBe(4);
    expect(ch.poll((buf, off, len) => got.push(checkSized(buf.subarray(off, off + len))[1]))).toBe(6);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ch.poll(() => {})).toBe(0);
  });

  it('stops at a throwing handler, consuming what it handed over, and goes on afterwards', () => {
    for (const consumers of ['one', 'many'] as const) {
      const ch = new Channel({ capacity: 4096, consumers });
      for (let i = 0; i < 5; i++) ch.send(makeSized(0, i, 30));
      let calls = 0;
      expect(() =>
        ch.poll(() => {
          if (++calls === 3) throw new Error('handler failed');
        }),
      ).toThrow('handler failed');
      expect(calls).toBe(3);
      expect(ch.recvMany(10).map((m) => checkSized(m)[1])).toEqual([3, 4]);
    }
  });

  it('waitReadable returns once a message is ready, and says CLOSED once closed and drained', async () => {
    const ch = new Channel({ capacity: 1024 });
    expect(codeOf(() => ch.waitReadable({ timeout: 5 }))).toBe('TIMEOUT');
    const waiting = ch.waitReadableAsync({ timeout: 10_000 });
    ch.send(new Uint8Array([1]));
    await waiting;
    ch.waitReadable({ timeout: 0 });
    expect(ch.tryRecvMany(5).length).toBe(1);
    ch.close();
    expect(codeOf(() => ch.waitReadable({ timeout: 1000 }))).toBe('CLOSED');
    expect(codeOf(() => ch.tryRecvMany(5))).toBe('CLOSED');
  });
});

describe('messages larger than one frame', () => {
  it('round-trips random sizes up to 16x the ring, in order (fast-check, one thread, async)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(256, 1024, 4096),
        fc.constantFrom<Mode>('one', 'many'),
        fc.array(fc.integer({ min: 12, max: 16 * 4096 }), { minLength: 1, maxLength: 12 }),
        async (capacity, producers, sizes) => {
          const ch = new Channel({ capacity, producers });
          const fit = sizes.map((s) => Math.min(s, 16 * capacity));
          const sending = (async () => {
            for (let i = 0; i < fit.length; i++)
              await ch.sendAsync(makeSized(0, i, fit[i]!), { timeout: 10_000 });
          })();
          for (let i = 0; i < fit.length; i++) {
            const m = await ch.recvAsync({ timeout: 10_000 });
            expect(m.length).toBe(fit[i]);
            expect(checkSized(m)).toEqual([0, i]);
          }
          await sending;
          expect(ch.tryRecv()).toBeUndefined();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('carries a 16 MiB message through the default 1 MiB ring with plain send and recv (worker producer)', async () => {
    const ch = new Channel();
    expect(ch.capacity).toBe(1 << 20);
    const sizes = [16 << 20, 100, (1 << 20) + 1];
    const done = runWorker(worker, { role: 'send-sizes', channel: ch.handle, producer: 1, sizes }, 120_000);
    for (let i = 0; i < sizes.length; i++) {
      const m = ch.recv({ timeout: 60_000 });
      expect(m.length).toBe(sizes[i]);
      expect(checkSized(m)).toEqual([1, i]);
      // The reassembled message owns plain memory, not a view of the ring.
      expect(m.buffer instanceof SharedArrayBuffer).toBe(false);
    }
    await done;
  });

  it('keeps order per producer with interleaved producers (3 worker producers, one consumer)', async () => {
    const ch = new Channel({ capacity: 4096, producers: 'many' });
    const sizes = (p: number) =>
      Array.from({ length: 40 }, (_, i) => 12 + ((p * 7919 + i * 104729) % (16 * 4096)));
    const done = runWorkers(
      worker,
      [0, 1, 2].map((p) => ({ role: 'send-sizes', channel: ch.handle, producer: p, sizes: sizes(p) })),
      120_000,
    );
    const next = [0, 0, 0];
    for (let k = 0; k < 120; k++) {
      const m = ch.recv({ timeout: 60_000 });
      const [p, seq] = checkSized(m);
      expect(seq).toBe(next[p]);
      expect(m.length).toBe(sizes(p)[seq]);
      next[p]!++;
    }
    await done;
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('never delivers a message cut by close(): the receiver drains, then gets CLOSED', async () => {
    const ch = new Channel({ capacity: 1024 });
    ch.send(makeSized(0, 0, 50));
    const cut = ch.sendAsync(makeSized(0, 1, 10_000), { timeout: 10_000 });
    let code = 'none';
    cut.catch((e: { code: string }) => {
      code = e.code;
    });
    await new Promise((r) => setTimeout(r, 10));
    ch.close();
    await cut.catch(() => {});
    expect(code).toBe('CLOSED');
    expect(checkSized(ch.recv({ timeout: 1000 }))).toEqual([0, 0]);
    expect(codeOf(() => ch.recv({ timeout: 1000 }))).toBe('CLOSED');
  });

  it('refuses trySend of a message whose frames cannot fit the ring at once, sends one that fits', () => {
    const ch = new Channel({ capacity: 4096 });
    expect(codeOf(() => ch.trySend(new Uint8Array(5000)))).toBe('TOO_LARGE');
    expect(ch.trySend(makeSized(0, 0, 3000))).toBe(true);
    expect(checkSized(ch.recv())).toEqual([0, 0]);
  });
});

describe('Symbol.dispose', () => {
  it('lets go of this object without closing the channel for others', () => {
    const ch = new Channel({ capacity: 1024 });
    {
      using tx = Channel.from(ch.handle);
      tx.send(new Uint8Array([5]));
    }
    expect(ch.closed).toBe(false);
    expect(Array.from(ch.recv())).toEqual([5]);
  });
});
