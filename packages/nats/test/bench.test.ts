import { measure } from '@shmkit/bench';
import { describe, expect, it } from 'vitest';
import { shmkit } from '../../bench/test/helpers.js';
import { natsAvailable, withServer } from './server.js';

describe.skipIf(!natsAvailable)('the nats bench backends', () => {
  const { server } = withServer();

  it('measure() verifies every message of nats and nats-durable, stream and rtt, bytes and objects', async () => {
    const report = await measure({
      backends: ['nats', 'nats-durable'],
      sizes: [64],
      reps: 1,
      messages: 300,
    });
    expect(report.skipped).toEqual([]);
    expect(report.results).toHaveLength(8);
    for (const r of report.results)
      expect(r.verified, `${r.backend} ${r.pattern} ${r.payload}: ${r.error}`).toBe(true);
  }, 120_000);

  it('recommend --hosts many ranks the network backends and states the cost against shared memory', async () => {
    const r = await shmkit(
      [
        'recommend',
        '--hosts',
        'many',
        '--nats',
        server().url,
        '--size',
        '64',
        '--pattern',
        'rtt',
        '--no-progress',
      ],
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/between machines/);
    for (const id of ['nats', 'nats-durable', 'tcp']) expect(r.stdout).toContain(` ${id} `);
    expect(r.stdout).toMatch(/Crossing machines: .*shmkit-process/);
  }, 150_000);
});

describe('the nats bench backends without a server', () => {
  it('are skipped with a message naming what to install', async () => {
    const saved = process.env.NATS_SERVER;
    process.env.NATS_SERVER = '/nonexistent/nats-server';
    try {
      const report = await measure({ backends: ['nats'], sizes: [64], reps: 1, messages: 10 });
      expect(report.results).toEqual([]);
      expect(report.skipped[0]?.reason).toMatch(/apt-get install nats-server/);
    } finally {
      if (saved === undefined) delete process.env.NATS_SERVER;
      else process.env.NATS_SERVER = saved;
    }
  });
});
