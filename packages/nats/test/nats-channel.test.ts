import { connectNats, freePort, NatsChannel } from '@shmkit/nats';
import { describe, expect, it } from 'vitest';
import { asyncCodeOf } from '../../../test/helpers/errors.js';
import { natsAvailable, uniqueSubject, withServer } from './server.js';

describe.skipIf(!natsAvailable)('NatsChannel', () => {
  const { nc } = withServer();

  it('carries bytes, utf8, msgpack and a custom codec, then ends with CLOSED after close()', async () => {
    const cases: [string | object, unknown[]][] = [
      ['bytes', [new Uint8Array([1, 2, 3]), new Uint8Array(0)]],
      ['utf8', ['hello', 'wörld ✓']],
      ['msgpack', [{ a: 1, m: new Map([[1, 'x']]), big: 2n ** 70n, d: new Date(5) }, [1, 'two', null]]],
      [
        {
          name: 'u32',
          encode: (v: number) => new Uint8Array(new Uint32Array([v]).buffer),
          decode: (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true),
        },
        [7, 4_000_000_000],
      ],
    ];
    for (const durable of [false, true]) {
      for (const [codec, values] of cases) {
        const subject = uniqueSubject('codec');
        const ch = await NatsChannel.open<unknown>(nc(), subject, { codec: codec as 'bytes', durable });
        await ch.listen();
        for (const v of values) await ch.sendAsync(v);
        await ch.close();
        const got: unknown[] = [];
        for await (const v of ch) got.push(v);
        expect(got).toEqual(values);
        expect(await asyncCodeOf(ch.recvAsync())).toBe('CLOSED');
        if (durable) await NatsChannel.remove(nc(), subject);
      }
    }
  });

  it('refuses sends after close(), from this object and from another one on the subject', async () => {
    const subject = uniqueSubject('closed');
    const a = await NatsChannel.open(nc(), subject);
    const b = await NatsChannel.open(nc(), subject);
    await a.close();
    expect(await asyncCodeOf(a.sendAsync(new Uint8Array(1)))).toBe('CLOSED');
    // b learns of it through the server.
    for (let i = 0; i < 200 && !b.closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await asyncCodeOf(b.sendAsync(new Uint8Array(1)))).toBe('CLOSED');
    await b.detach();
  });

  it('times out, aborts and validates options the way Channel does', async () => {
    const ch = await NatsChannel.open(nc(), uniqueSubject('wait'));
    expect(await asyncCodeOf(ch.recvAsync({ timeout: 30 }))).toBe('TIMEOUT');
    const ac = new AbortController();
    const p = ch.recvAsync({ signal: ac.signal });
    ac.abort();
    expect(await asyncCodeOf(p)).toBe('ABORTED');
    expect(await asyncCodeOf(ch.recvAsync({ timeout: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await asyncCodeOf(ch.recvAsync({ timeout: Number.NaN }))).toBe('INVALID_ARGUMENT');
    expect(await asyncCodeOf(ch.sendAsync('x' as unknown as Uint8Array))).toBe('INVALID_ARGUMENT');
    await ch.detach();
    expect(await asyncCodeOf(NatsChannel.open(nc(), 'x', { codec: 'json' as 'bytes' }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses bad subjects and names', async () => {
    for (const s of ['', 'a..b', '.a', 'a.', 'a b', 'a.*', 'a.>', '>', 'ä', 'tab\there']) {
      expect(await asyncCodeOf(NatsChannel.open(nc(), s)), s).toBe('INVALID_ARGUMENT');
    }
    expect(await asyncCodeOf(NatsChannel.open(nc(), 'ok', { durable: true, stream: 'a.b' }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('never delivers a message twice in core mode (2 senders, 2 receivers in one group)', async () => {
    const subject = uniqueSubject('atmostonce');
    const rx = [await NatsChannel.open<string>(nc(), subject, { codec: 'utf8' })];
    const nc2 = await connectNats(`nats://127.0.0.1:${(nc().info as { port: number }).port}`);
    rx.push(await NatsChannel.open<string>(nc2, subject, { codec: 'utf8' }));
    for (const r of rx) await r.listen();
    const tx = [
      await NatsChannel.open<string>(nc(), subject, { codec: 'utf8' }),
      await NatsChannel.open<string>(nc2, subject, { codec: 'utf8' }),
    ];
    const n = 5000;
    const seen = new Map<string, number>();
    const receive = rx.map(async (r) => {
      for await (const m of r) seen.set(m, (seen.get(m) ?? 0) + 1);
    });
    await Promise.all(
      tx.map(async (t, k) => {
        for (let i = 0; i < n; i += 100) {
          await t.sendMany(Array.from({ length: 100 }, (_, j) => `${k}:${i + j}`));
        }
      }),
    );
    await nc().flush();
    await nc2.flush();
    await tx[0]!.close();
    await Promise.all(receive);
    for (const [m, c] of seen) expect(c, m).toBe(1);
    for (const m of seen.keys()) expect(m).toMatch(/^[01]:\d+$/);
    // At most once: nothing invented, and whatever is missing was counted as dropped (loopback,
    // receivers keeping up: normally nothing).
    expect(seen.size + rx[0]!.dropped + rx[1]!.dropped).toBe(2 * n);
    await nc2.close();
  });

  it('bounds a core receiver: past maxPending it drops and counts, it does not grow', async () => {
    const subject = uniqueSubject('bounded');
    const rx = await NatsChannel.open(nc(), subject, { maxPending: 10 });
    await rx.listen();
    const tx = await NatsChannel.open(nc(), subject);
    await tx.sendMany(Array.from({ length: 100 }, (_, i) => new Uint8Array([i])));
    await tx.close();
    const got: number[] = [];
    for await (const m of rx) got.push(m[0]!);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(rx.dropped).toBe(90);
  });

  it('applies backpressure in durable mode: a full stream makes sendAsync wait until a receiver takes some', async () => {
    const subject = uniqueSubject('backpressure');
    const tx = await NatsChannel.open(nc(), subject, { durable: true, maxMessages: 20 });
    await tx.sendMany(Array.from({ length: 20 }, (_, i) => new Uint8Array([i])));
    expect(await asyncCodeOf(tx.sendAsync(new Uint8Array([20]), { timeout: 300 }))).toBe('TIMEOUT');
    const rx = await NatsChannel.open(nc(), subject, { durable: true });
    const waiting = tx.sendAsync(new Uint8Array([21]), { timeout: 20_000 });
    expect((await rx.recvAsync({ timeout: 10_000 }))[0]).toBe(0);
    await waiting; // room again: the send went through
    const rest: number[] = [];
    for (let i = 0; i < 20; i++) rest.push((await rx.recvAsync({ timeout: 10_000 }))[0]!);
    expect(rest).toEqual([...Array.from({ length: 19 }, (_, i) => i + 1), 21]);
    await rx.detach();
    await NatsChannel.remove(nc(), subject);
  });

  it("gives a detached durable receiver's unread messages to another receiver at once", async () => {
    const subject = uniqueSubject('detach');
    // ackWait of a minute: only the immediate give-back can deliver them within the test's bound.
    const a = await NatsChannel.open<string>(nc(), subject, {
      codec: 'utf8',
      durable: true,
      ackWait: 60_000,
    });
    await a.sendMany(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(await a.recvAsync({ timeout: 10_000 })).toBe('m0');
    await a[Symbol.asyncDispose]();
    expect(await asyncCodeOf(a.recvAsync())).toBe('CLOSED');
    const b = await NatsChannel.open<string>(nc(), subject, { codec: 'utf8', durable: true });
    const got = new Set<string>();
    while (got.size < 4) got.add(await b.recvAsync({ timeout: 10_000 }));
    expect([...got].sort()).toEqual(['m1', 'm2', 'm3', 'm4']);
    await b.detach();
    await NatsChannel.remove(nc(), subject);
  });

  it('fails to connect to an unreachable server with NOT_FOUND, in bounded time', async () => {
    const port = await freePort();
    const t0 = performance.now();
    expect(await asyncCodeOf(connectNats(`nats://127.0.0.1:${port}`, { timeout: 2000 }))).toBe('NOT_FOUND');
    expect(performance.now() - t0).toBeLessThan(30_000); // a bound on the wait, not a timing claim
  });
});

describe.skipIf(!natsAvailable)('NatsChannel and max_payload', () => {
  const { nc } = withServer({ maxPayload: 4096 });

  it('refuses a message over the server max_payload with TOO_LARGE naming the limit', async () => {
    for (const durable of [false, true]) {
      const subject = uniqueSubject('large');
      const ch = await NatsChannel.open(nc(), subject, { durable });
      expect(ch.maxMessageSize).toBeLessThanOrEqual(4096);
      await ch.listen();
      let err: unknown;
      try {
        await ch.sendAsync(new Uint8Array(5000));
      } catch (e) {
        err = e;
      }
      expect((err as { code: string }).code).toBe('TOO_LARGE');
      expect(String((err as Error).message)).toContain(String(ch.maxMessageSize));
      // The largest that fits still goes through.
      const fits = new Uint8Array(ch.maxMessageSize).fill(7);
      await ch.sendAsync(fits);
      expect(await ch.recvAsync({ timeout: 10_000 })).toEqual(fits);
      await ch.detach();
      if (durable) await NatsChannel.remove(nc(), subject);
    }
  });
});
