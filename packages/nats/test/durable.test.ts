import { connectNats, NatsChannel, type NatsServer, startNatsServer } from '@shmkit/nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killChildren, spawnFixture } from '../../../test/helpers/children.js';
import { natsAvailable, uniqueSubject } from './server.js';

const fixtures = new URL('./fixtures/', import.meta.url);

describe.skipIf(!natsAvailable)('durable NatsChannel across crashes and restarts', () => {
  // A server of its own: this suite restarts it.
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(killChildren);

  it('delivers exactly once, in order per producer, with 2 producers x 2 consumers, a consumer SIGKILLed mid-stream and a server restart', async () => {
    const subject = uniqueSubject('durable');
    const perProducer = 1500;
    // Consumers first, so the stream and the consumer exist before anything is sent.
    const survivor = spawnFixture(fixtures, 'consumer.mjs', [server.url, subject]);
    expect(await survivor.line()).toBe('ready');
    const doomed = spawnFixture(fixtures, 'consumer.mjs', [server.url, subject], {
      env: { KILL_AFTER: '300' },
    });
    expect(await doomed.line()).toBe('ready');
    const producers = ['p0', 'p1'].map((name) =>
      spawnFixture(fixtures, 'producer.mjs', [server.url, subject, name, perProducer]),
    );

    // Restart the server once the doomed consumer died (mid-stream: the producers are still sending).
    const dead = await doomed.exited(60_000);
    expect(dead.signal).toBe('SIGKILL');
    await server.restart();

    for (const p of producers) expect(await p.line(60_000)).toBe('done');
    const nc = await connectNats(server.url);
    const closer = await NatsChannel.open(nc, subject, { codec: 'utf8', durable: true });
    await closer.close({ timeout: 20_000 });
    const alive = await survivor.exited(60_000);
    expect(alive.code, alive.stderr).toBe(0);
    await nc.close();

    const lines = (out: string) => out.split('\n').filter((l) => l !== '' && l !== 'ready' && l !== 'end');
    const got = [...lines(dead.stdout), ...lines(alive.stdout)];
    const counts = new Map<string, number>();
    for (const l of got) {
      const m = l.split(' ')[0]!;
      counts.set(m, (counts.get(m) ?? 0) + 1);
    }
    const dups = [...counts].filter(([, c]) => c > 1).map(([m]) => m);
    const where = (out: string) => lines(out).filter((l) => dups.includes(l.split(' ')[0]!));
    expect(
      dups,
      `duplicates; dead consumer: ${where(dead.stdout)}; survivor: ${where(alive.stdout)}`,
    ).toEqual([]);
    for (const [m, c] of counts) expect(c, `${m} delivered ${c} times`).toBe(1);
    expect(counts.size).toBe(2 * perProducer);
    expect(lines(dead.stdout).length).toBe(300);
    expect(alive.stdout.trimEnd().endsWith('end')).toBe(true);
    // Order: each consumer sees each producer's first deliveries in the order they were sent;
    // only redeliveries (of what the dead consumer held) come later.
    for (const out of [dead.stdout, alive.stdout]) {
      const last = new Map<string, number>();
      for (const l of lines(out)) {
        const [msg, redelivered] = l.split(' ');
        if (redelivered === '1') continue;
        const [p, i] = msg!.split(':');
        expect(Number(i), l).toBeGreaterThan(last.get(p!) ?? -1);
        last.set(p!, Number(i));
      }
    }
  }, 120_000);
});
