import { Channel } from '@shmkit/channel';
import { NatsChannel, tunnel } from '@shmkit/nats';
import { afterEach, describe, expect, it } from 'vitest';
import { killChildren, spawnFixture } from '../../../test/helpers/children.js';
import { runWorker } from '../../../test/helpers/workers.js';
import { natsAvailable, uniqueSubject, withServer } from './server.js';

const fixtures = new URL('./fixtures/', import.meta.url);

describe.skipIf(!natsAvailable)('tunnel', () => {
  const { nc, server } = withServer();
  afterEach(killChildren);

  it('forwards 100k messages from worker threads through NATS into another process, checksummed, and the close with them', async () => {
    const subject = uniqueSubject('tunnel');
    const count = 100_000;
    const receiver = spawnFixture(fixtures, 'tunnel-in.mjs', [server().url, subject, '1']);
    expect(await receiver.line()).toBe('ready');
    const local = new Channel<Uint8Array>({ capacity: 1 << 20 });
    const t = tunnel(local, nc(), subject, { direction: 'out', durable: true, batch: 512 });
    const fed = runWorker<{ xor: number }>(new URL('./fixtures/feeder.ts', import.meta.url), {
      handle: local.handle,
      count,
      size: 64,
    });
    const { xor } = await fed;
    await t.done; // the local close reached NATS
    expect(t.forwarded).toBe(count);
    const out = await receiver.exited(120_000);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`count ${count} bad 0 outOfOrder 0 xor ${xor}`);
    await NatsChannel.remove(nc(), subject);
  }, 180_000);

  it('forwards a subject into a local channel and stops without closing it', async () => {
    const subject = uniqueSubject('tunnel-in');
    const local = new Channel<string>({ codec: 'utf8' });
    const t = tunnel(local, nc(), subject, { direction: 'in' });
    const tx = await NatsChannel.open<string>(nc(), subject, { codec: 'utf8' });
    // The tunnel subscribes on its first step: wait until a message makes it through.
    let first: string | undefined;
    for (let i = 0; i < 100 && first === undefined; i++) {
      await tx.sendAsync('probe');
      await nc().flush();
      first = await local.recvAsync({ timeout: 100 }).catch(() => undefined);
    }
    expect(first).toBe('probe');
    while (local.tryRecv() !== undefined) {}
    await tx.sendMany(['a', 'b', 'c']);
    expect([
      await local.recvAsync({ timeout: 10_000 }),
      await local.recvAsync({ timeout: 10_000 }),
      await local.recvAsync({ timeout: 10_000 }),
    ]).toEqual(['a', 'b', 'c']);
    await t.stop();
    expect(local.closed).toBe(false);
    await tx.detach();
  });

  it('refuses a bad direction, subject or channel', async () => {
    const local = new Channel();
    expect(() => tunnel(local, nc(), 's', { direction: 'sideways' as 'in' })).toThrow(/direction/);
    await expect(tunnel(local, nc(), 'a..b', { direction: 'out' }).done).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(() => tunnel({} as Channel, nc(), 's', { direction: 'out' })).toThrow(/Channel/);
    expect(() => tunnel(local, nc(), 's', { direction: 'in', batch: 0 })).toThrow(/batch/);
  });

  it('fails with TOO_LARGE when a message from NATS does not fit the local channel', async () => {
    const subject = uniqueSubject('tunnel-large');
    const small = new Channel({ capacity: 256 });
    const t = tunnel(small, nc(), subject, { direction: 'in' });
    const tx = await NatsChannel.open(nc(), subject);
    const failed = t.done.catch((e: unknown) => e);
    // Until the tunnel listens, sends are lost (core mode): send until it fails.
    let err: unknown;
    for (let i = 0; i < 100 && err === undefined; i++) {
      await tx.sendAsync(new Uint8Array(small.maxFrameSize + 1));
      await nc().flush();
      err = await Promise.race([failed, new Promise((r) => setTimeout(r, 50))]);
    }
    expect((err as { code?: string }).code).toBe('TOO_LARGE');
    expect(String((err as Error).message)).toContain(String(small.maxFrameSize));
    await tx.detach();
  });
});

describe.skipIf(!natsAvailable)('tunnel across a server restart', () => {
  const { nc, server } = withServer();

  it('loses and duplicates nothing in durable mode when the server restarts mid-stream', async () => {
    const subject = uniqueSubject('tunnel-restart');
    const count = 6000;
    const source = new Channel<string>({ codec: 'utf8', capacity: 1 << 16 });
    const sink = new Channel<string>({ codec: 'utf8', capacity: 1 << 16 });
    const into = tunnel(sink, nc(), subject, { direction: 'in', durable: true, ackWait: 2000 });
    const out = tunnel(source, nc(), subject, { direction: 'out', durable: true, batch: 128 });
    const feeding = (async () => {
      for (let i = 0; i < count; i++) await source.sendAsync(`m${i}`, { timeout: 60_000 });
      source.close();
    })();
    const seen = new Map<string, number>();
    let restarted = false;
    for (;;) {
      let m: string;
      try {
        m = await sink.recvAsync({ timeout: 60_000 });
      } catch (e) {
        if ((e as { code?: string }).code === 'CLOSED') break;
        throw e;
      }
      seen.set(m, (seen.get(m) ?? 0) + 1);
      if (!restarted && seen.size === 1500) {
        restarted = true;
        await server().restart();
      }
    }
    await feeding;
    await out.done;
    await into.done;
    expect(restarted).toBe(true);
    const dups = [...seen].filter(([, c]) => c > 1);
    expect(dups).toEqual([]);
    expect(seen.size).toBe(count);
    await NatsChannel.remove(nc(), subject);
  }, 120_000);
});
