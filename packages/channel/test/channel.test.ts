import { CHANNEL_LIMITS, Channel, type ChannelHandle, type Codec, RingBuffer } from '@shmkit/channel';
import { pendingEventLoopHolds, Region } from '@shmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asyncCodeOf, codeOf } from '../../../test/helpers/errors.js';
import { runWorker, withTimeout } from '../../../test/helpers/workers.js';
import { type Exchange, exchange } from './fixtures/exchange.js';
import { checkMessage, makeMessage } from './fixtures/messages.js';

const worker = new URL('./fixtures/channel-worker.ts', import.meta.url);

type Mode = 'one' | 'many';

describe('Channel between worker threads', () => {
  // Producers alternate send and sendAsync; every message is counted and checked byte for byte.
  const cases: [string, Exchange][] = [
    [
      'delivers 100k messages exactly once and in order with one producer and one consumer',
      { producers: 1, consumers: 1, pmode: 'one', cmode: 'one', count: 100_000, maxPayload: 200 },
    ],
    [
      'delivers every message exactly once, in each producer’s order, with 4 producers and one consumer',
      { producers: 4, consumers: 1, pmode: 'many', cmode: 'one', count: 25_000 },
    ],
    [
      'delivers every message exactly once with 4 producers and 4 consumers',
      {
        producers: 4,
        consumers: 4,
        pmode: 'many',
        cmode: 'many',
        count: 25_000,
        capacity: 8192,
        maxPayload: 300,
      },
    ],
    [
      'delivers every message exactly once with one producer and 3 async consumers',
      {
        producers: 1,
        consumers: 3,
        pmode: 'one',
        cmode: 'many',
        count: 30_000,
        capacity: 2048,
        maxPayload: 100,
        consume: 'consume-async',
      },
    ],
  ];
  for (const [name, o] of cases) it(name, () => exchange(o));

  it('moves 1 MiB messages through claim/publish and peek/release', async () => {
    const size = 1 << 20;
    const ch = new Channel({ capacity: 4 << 20 });
    const count = 24;
    const producer = runWorker(
      worker,
      { role: 'zero-copy-produce', channel: ch.handle, count, size },
      60_000,
    );
    for (let seq = 0; seq < count; seq++) {
      const view = await ch.peekAsync({ timeout: 30_000 });
      expect(view.length).toBe(size);
      const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
      for (let i = 0; i + 4 <= size; i += 4096)
        expect(dv.getUint32(i, true)).toBe((seq * 1_000_003 + i) >>> 0);
      ch.release();
    }
    await producer;
  });
});

describe('Channel close', () => {
  it('wakes blocked senders and receivers in workers with CLOSED', async () => {
    const full = new Channel({ capacity: 1024 });
    const empty = new Channel({ capacity: 1024 });
    const blocked = Promise.all([
      runWorker<string>(worker, { role: 'block-send', channel: full.handle }, 30_000),
      runWorker<string>(worker, { role: 'block-recv', channel: empty.handle }, 30_000),
    ]);
    // Wait until the sender has filled the ring (it is then blocked or about to block).
    await withTimeout(
      (async () => {
        while (full.tryPeek() === undefined) await new Promise((r) => setTimeout(r, 5));
        full.release();
      })(),
      20_000,
      'sender filling the ring',
    );
    await new Promise((r) => setTimeout(r, 50));
    full.close();
    empty.close();
    expect(await blocked).toEqual(['CLOSED', 'CLOSED']);
  });

  it('lets receivers drain, then ends the async iterator and rejects pending async waits', async () => {
    const ch = new Channel<string>({ codec: 'utf8', capacity: 1024 });
    const pending = new Channel({ capacity: 1024 });
    const waiting = pending.recvAsync({ timeout: 20_000 });
    ch.send('a');
    ch.send('b');
    ch.close();
    expect(ch.closed).toBe(true);
    expect(codeOf(() => ch.send('c'))).toBe('CLOSED');
    const got: string[] = [];
    for await (const m of ch) got.push(m);
    expect(got).toEqual(['a', 'b']);
    expect(codeOf(() => ch.recv())).toBe('CLOSED');
    expect(codeOf(() => ch.tryRecv())).toBe('CLOSED');
    pending.close();
    expect(await asyncCodeOf(waiting)).toBe('CLOSED');
    // A sender awaiting room in a full ring is woken by close() too.
    const full = new Channel({ capacity: 256 });
    while (full.trySend(new Uint8Array(40)));
    const sending = full.sendAsync(new Uint8Array(40), { timeout: 20_000 });
    full.close();
    expect(await asyncCodeOf(sending)).toBe('CLOSED');
    expect(pendingEventLoopHolds()).toBe(0);
  });
});

describe('Channel codecs', () => {
  it('round-trips structured-clone data with msgpack, across consumers', async () => {
    const values: unknown[] = [
      { a: 1, s: 'x', nested: { arr: [1, 'two', null, undefined, true] } },
      new Map<unknown, unknown>([
        [1, 'one'],
        ['k', { z: new Set([1, 2]) }],
      ]),
      new Date(1_700_000_000_000),
      2n ** 64n + 5n,
      -(2n ** 100n),
      12n,
      new Float32Array([1.5, -2]),
      new BigInt64Array([-5n]),
      new Uint8Array([1, 2, 3]),
      null,
      'héllo wörld ☃',
      [],
    ];
    const ch = new Channel<unknown>({ codec: 'msgpack', consumers: 'many' });
    const other = Channel.from<unknown>(ch.handle as ChannelHandle);
    for (const v of values) ch.send(v);
    const got = values.map((_, i) => (i % 2 === 0 ? ch : other).recv({ timeout: 1000 }));
    expect(got).toEqual(values);
    expect((got[6] as Float32Array).buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('round-trips strings with utf8, short ones encoded in place and long ones copied', () => {
    const ch = new Channel<string>({ codec: 'utf8', capacity: 1 << 16 });
    const long = 'ж'.repeat(10_000);
    for (const s of ['', 'plain', 'ünïcödé ☃ 𝄞', long]) {
      ch.send(s);
      expect(ch.recv()).toBe(s);
    }
  });

  it('uses a custom codec, which from() must be given again', () => {
    const json: Codec<object> = {
      name: 'json',
      encode: (v) => new TextEncoder().encode(JSON.stringify(v)),
      decode: (b) => JSON.parse(new TextDecoder().decode(b)) as object,
    };
    const ch = new Channel<object>({ codec: json });
    expect(ch.handle.codec).toBe('json');
    expect(() => Channel.from(ch.handle)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const other = Channel.from<object>(ch.handle, { codec: json });
    ch.send({ x: [1, 2] });
    expect(other.recv()).toEqual({ x: [1, 2] });
  });

  it('refuses values a codec cannot encode with INVALID_ARGUMENT and sends nothing', async () => {
    const bytes = new Channel();
    expect(codeOf(() => bytes.send('text' as unknown as Uint8Array))).toBe('INVALID_ARGUMENT');
    const text = new Channel<string>({ codec: 'utf8' });
    expect(codeOf(() => text.send(5 as unknown as string))).toBe('INVALID_ARGUMENT');
    expect(bytes.tryRecv()).toBeUndefined();
    expect(text.tryRecv()).toBeUndefined();
  });
});

describe('Channel limits and corruption', () => {
  it('refuses a message above maxMessageSize with TOO_LARGE and stays usable', async () => {
    const ch = new Channel({ capacity: 1024, maxMessageSize: 4000 });
    expect(ch.maxFrameSize).toBe(512 - 16);
    expect(ch.maxMessageSize).toBe(4000);
    expect(codeOf(() => ch.send(new Uint8Array(4001)))).toBe('TOO_LARGE');
    ch.send(new Uint8Array(ch.maxFrameSize));
    expect(ch.recv().length).toBe(ch.maxFrameSize);
    expect(new Channel({ capacity: 1024 }).maxMessageSize).toBe(64 << 20);
  });

  it('refuses a message above one frame with TOO_LARGE when there are many consumers', () => {
    const ch = new Channel({ capacity: 1024, consumers: 'many', maxMessageSize: 1 << 20 });
    expect(ch.maxMessageSize).toBe(ch.maxFrameSize);
    expect(codeOf(() => ch.send(new Uint8Array(ch.maxFrameSize + 1)))).toBe('TOO_LARGE');
    expect(codeOf(() => ch.trySend(new Uint8Array(ch.maxFrameSize + 1)))).toBe('TOO_LARGE');
    ch.send(new Uint8Array(ch.maxFrameSize));
    expect(ch.recv().length).toBe(ch.maxFrameSize);
  });

  it('throws CORRUPT for a nonsense frame header instead of reading out of bounds', async () => {
    for (const producers of ['one', 'many'] as const) {
      const ch = new Channel({ capacity: 1024, producers });
      ch.send(new Uint8Array([1, 2, 3]));
      const words = new Int32Array(ch.handle.buffer);
      const frame = Channel.HEADER_BYTES / 4;
      words[frame + 1] = (1 << 20) | 1; // a frame size far past the ring
      expect(codeOf(() => ch.recv({ timeout: 100 }))).toBe('CORRUPT');
      words[frame + 1] = 32 | 1;
      words[frame] = 1000; // a length larger than its frame
      expect(codeOf(() => ch.recv({ timeout: 100 }))).toBe('CORRUPT');
    }
    const ch = new Channel({ capacity: 1024 });
    new Int32Array(ch.handle.buffer)[2] = 1000; // capacity word: not a power of two
    expect(codeOf(() => Channel.from(ch.handle))).toBe('CORRUPT');
  });

  it('times out, aborts and validates options', async () => {
    const ch = new Channel({ capacity: 256 });
    expect(codeOf(() => ch.recv({ timeout: 10 }))).toBe('TIMEOUT');
    const ac = new AbortController();
    const p = ch.recvAsync({ signal: ac.signal });
    ac.abort();
    expect(await asyncCodeOf(p)).toBe('ABORTED');
    while (ch.trySend(new Uint8Array(32)));
    expect(codeOf(() => ch.send(new Uint8Array(32), { timeout: 10 }))).toBe('TIMEOUT');
    expect(await asyncCodeOf(ch.sendAsync(new Uint8Array(32), { timeout: 10 }))).toBe('TIMEOUT');
    expect(codeOf(() => ch.recv({ timeout: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => ch.send(new Uint8Array(1), { timeout: Number.NaN }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Channel({ capacity: 1000 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Channel({ producers: 'two' as 'one' }))).toBe('INVALID_ARGUMENT');
    expect(pendingEventLoopHolds()).toBe(0);
  });

  it('rejects (never throws) from every async form given a bad argument or an aborted signal', async () => {
    const ch = new Channel({ capacity: 1024 });
    const rb = new RingBuffer(RingBuffer.getStorageForCapacity(16, Float32Array), Float32Array);
    const aborted = AbortSignal.abort();
    const calls: [string, () => Promise<unknown>, string][] = [
      ['sendAsync', () => ch.sendAsync(new Uint8Array(1), { timeout: -1 }), 'INVALID_ARGUMENT'],
      ['sendAsync', () => ch.sendAsync(new Uint8Array(1), { signal: aborted }), 'ABORTED'],
      ['recvAsync', () => ch.recvAsync({ signal: aborted }), 'ABORTED'],
      ['recvIntoAsync', () => ch.recvIntoAsync('x' as unknown as Uint8Array), 'INVALID_ARGUMENT'],
      ['peekAsync', () => ch.peekAsync({ timeout: Number.NaN }), 'INVALID_ARGUMENT'],
      ['waitReadableAsync', () => ch.waitReadableAsync({ signal: aborted }), 'ABORTED'],
      ['claimAsync', () => ch.claimAsync(-1), 'INVALID_ARGUMENT'],
      ['claimAsync', () => ch.claimAsync(8, { signal: aborted }), 'ABORTED'],
      ['pushAsync', () => rb.pushAsync(new Float32Array(4), { offset: 9 }), 'INVALID_ARGUMENT'],
      ['popAsync', () => rb.popAsync(new Float32Array(4), { min: 99 }), 'INVALID_ARGUMENT'],
      ['popAsync', () => rb.popAsync(new Float32Array(4), { signal: aborted }), 'ABORTED'],
    ];
    for (const [name, call, code] of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => {
        p = call();
      }, name).not.toThrow();
      expect(await asyncCodeOf(p!), name).toBe(code);
    }
    // Nothing was sent or claimed on the way: the channel works on.
    ch.send(new Uint8Array([7]));
    expect(Array.from(ch.recv())).toEqual([7]);
  });

  it('accepts as a capacity exactly what CHANNEL_LIMITS.isCapacity calls one', () => {
    const { minCapacity, maxCapacity } = CHANNEL_LIMITS;
    for (const n of [minCapacity, 4096, maxCapacity]) {
      expect(CHANNEL_LIMITS.isCapacity(n)).toBe(true);
      expect(CHANNEL_LIMITS.validateCapacity(n)).toBe(n);
    }
    expect(new Channel({ capacity: minCapacity }).capacity).toBe(minCapacity);
    for (const n of [minCapacity / 2, 1000, maxCapacity * 2, 4096.5, Number.NaN]) {
      expect(CHANNEL_LIMITS.isCapacity(n), String(n)).toBe(false);
      expect(
        codeOf(() => CHANNEL_LIMITS.validateCapacity(n)),
        String(n),
      ).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => new Channel({ capacity: minCapacity / 2 }))).toBe('INVALID_ARGUMENT');
  });

  it('keeps the producer from buffering: a full ring refuses trySend and times out send', async () => {
    const ch = new Channel({ capacity: 4096 });
    const m = new Uint8Array(100);
    let sent = 0;
    while (ch.trySend(m)) sent++;
    expect(sent).toBe(Math.floor(4096 / 128));
    expect(codeOf(() => ch.send(m, { timeout: 5 }))).toBe('TIMEOUT');
    for (let i = 0; i < sent; i++) ch.recv();
    expect(ch.tryRecv()).toBeUndefined();
  });
});

describe('Channel ring arithmetic', () => {
  it('wraps around at every offset without losing, tearing or overrunning (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(256, 512, 1024, 4096),
        fc.constantFrom<Mode>('one', 'many'),
        fc.constantFrom<Mode>('one', 'many'),
        fc.array(fc.tuple(fc.boolean(), fc.nat(300)), { minLength: 1, maxLength: 300 }),
        (capacity, pmode, cmode, ops) => {
          // The channel sits between canary bytes in a larger buffer: any overrun shows.
          const size = Channel.byteLength(capacity, { consumers: cmode });
          const sab = new SharedArrayBuffer(size + 256);
          const all = new Uint8Array(sab);
          all.fill(0xa5, 0, 128);
          all.fill(0x5a, 128 + size);
          const ch = new Channel({
            capacity,
            producers: pmode,
            consumers: cmode,
            region: new Region(sab, 128, size),
          });
          const maxPayload = Math.min(300, ch.maxFrameSize - 8);
          const queue: number[] = [];
          let seq = 0;
          for (const [send, n] of ops) {
            if (send) {
              const m = makeMessage(0, seq, maxPayload);
              void n;
              if (ch.trySend(m)) queue.push(seq);
              seq++;
            } else {
              const got = ch.tryRecv();
              if (queue.length === 0) expect(got).toBeUndefined();
              else expect(checkMessage(got!, maxPayload)).toEqual([0, queue.shift()]);
            }
          }
          while (queue.length > 0)
            expect(checkMessage(ch.recv({ timeout: 100 }), maxPayload)[1]).toBe(queue.shift());
          expect(ch.tryRecv()).toBeUndefined();
          expect(all.subarray(0, 128).every((b) => b === 0xa5)).toBe(true);
          expect(all.subarray(128 + size).every((b) => b === 0x5a)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('mixes claim, cancelClaim and publish with many producers', () => {
    const ch = new Channel({ capacity: 1024, producers: 'many' });
    const a = ch.claim(10);
    a.fill(7);
    ch.cancelClaim();
    const b = ch.tryClaim(5)!;
    b.set([1, 2, 3, 4, 5]);
    ch.publish(3);
    expect(Array.from(ch.recv())).toEqual([1, 2, 3]);
    expect(ch.tryRecv()).toBeUndefined();
    expect(() => ch.publish()).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    ch.claim(1);
    expect(() => ch.send(new Uint8Array(1))).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    ch.publish();
    ch.peek();
    expect(() => ch.recv()).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    ch.release();
  });
});
