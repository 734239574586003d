import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STACK_LINE, shmkit } from './helpers.js';

const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('shmkit CLI', () => {
  it('prints usage for --help and exits 0', async () => {
    const r = await shmkit(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: shmkit/);
    for (const cmd of ['bench', 'recommend', 'segments', 'doctor']) expect(r.stdout).toContain(cmd);
  });

  it('shows examples on every help screen', async () => {
    for (const args of [
      ['--help'],
      ['bench', '--help'],
      ['recommend', '--help'],
      ['segments', '--help'],
      ['doctor', '--help'],
    ]) {
      const r = await shmkit(args);
      expect(r.code).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/Examples:\n {2}shmkit /);
    }
  });

  it('prints the options of bench for bench --help and exits 0', async () => {
    const r = await shmkit(['bench', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--quick',
      '--backends',
      '--sizes',
      '--pattern',
      '--payload',
      '--json',
      '--md',
      '--html',
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('prints usage and exits 2 without a command', async () => {
    const r = await shmkit([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage: shmkit/);
  });

  it.each([
    [['bench', '--frobnicate'], /unknown option '--frobnicate'/],
    [['bench', '--sizes', '12parsecs'], /"12parsecs" is not a size/],
    [['bench', '--sizes', '2'], /outside 8 B/],
    [['bench', '--backends', 'carrier-pigeon'], /unknown backend "carrier-pigeon"/],
    [['bench', '--pattern', 'sideways'], /Allowed choices are stream, rtt, both/],
    [['bench', '--reps', '0'], /not a positive integer/],
    [['recommend', '--size', '64'], /required option '--pattern/],
    [['recommend', '--pattern', 'rtt'], /required option '--size/],
    [['segments', 'shred'], /unknown segments action "shred"/],
    [['teleport'], /unknown command 'teleport'/],
  ])('rejects %j with a clear message, exit 2 and no stack trace', async (args, message) => {
    const r = await shmkit(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).toBe('');
  });

  it('reports a missing payload file with exit 2 and no stack trace', async () => {
    const r = await shmkit(['bench', '--payload', './no/such/payload.mjs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('payload file not found: ./no/such/payload.mjs');
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('reports a payload file without a function with exit 2', async () => {
    const r = await shmkit(['bench', '--payload', fixture('payload-no-function.mjs')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/must export a function/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('runs doctor: one line per check, exit 0 when every check passes', async () => {
    const r = await shmkit(['doctor', '--json']);
    const checks = JSON.parse(r.stdout) as { name: string; status: string; detail: string }[];
    expect(checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['node', 'native addon', '/dev/shm', 'futex', 'segments']),
    );
    expect(r.code).toBe(checks.some((c) => c.status === 'fail') ? 1 : 0);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('ranks the thread backends for recommend, with numbers and a reason each', async () => {
    const r = await shmkit(['recommend', '--size', '256', '--pattern', 'rtt', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ 1\. \S+ +p50 [\d.]+ µs/);
    for (const id of ['postmessage', 'shmkit-thread']) expect(r.stdout).toContain(id);
    expect(r.stdout).toMatch(/Recommendation: \S+ — /);
    expect(r.stdout).not.toContain('child-ipc');
  });
});

describe('shmkit segments', () => {
  it('lists, inspects and removes a segment (or says segments are unavailable)', async (ctx) => {
    const mod = (await import('@shmkit/segment').catch(() => undefined)) as
      | Record<string, unknown>
      | undefined;
    const Segment = mod?.Segment as
      | {
          create(
            n: string,
            o: { size: number },
          ): { close(): void; channel(k: string, o: { capacity: number }): unknown };
          unlink(n: string): boolean;
        }
      | undefined;
    if (Segment === undefined) {
      const r = await shmkit(['segments']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/unavailable/);
      return ctx.skip();
    }
    const name = `bench-cli-test-${process.pid}`;
    const seg = Segment.create(name, { size: 1 << 20 });
    try {
      seg.channel('jobs', { capacity: 4096 });
      const list = await shmkit(['segments', 'list']);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`${name}\\s+1 MiB\\s+${process.pid}\\s+yes`));
      const listJson = JSON.parse((await shmkit(['segments', 'list', '--json'])).stdout) as {
        name: string;
      }[];
      expect(listJson.map((s) => s.name)).toContain(name);
      const readable = await shmkit(['segments', 'inspect', name]);
      expect(readable.code).toBe(0);
      expect(readable.stdout).toMatch(/mode +0600, uid \d+/);
      expect(readable.stdout).toMatch(new RegExp(`creator +pid ${process.pid} \\(running\\)`));
      expect(readable.stdout).toMatch(/objects +1\n +jobs +Channel .* capacity 4096, .*codec bytes/);
      const inspect = await shmkit(['segments', 'inspect', name, '--json']);
      expect(inspect.code).toBe(0);
      const info = JSON.parse(inspect.stdout) as {
        name: string;
        creatorPid: number;
        namedObjects?: { key: string }[];
      };
      expect(info).toMatchObject({ name, creatorPid: process.pid });
      expect(info.namedObjects?.map((o) => o.key)).toContain('jobs');
      const rm = await shmkit(['segments', 'rm', name]);
      expect(rm).toMatchObject({ code: 0, stdout: `removed ${name}\n` });
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
      const again = await shmkit(['segments', 'rm', name]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`no segment named ${name}`);
      expect(again.stderr).toContain('[NOT_FOUND]');
      const elsewhere = await shmkit(['segments', 'list', '--dir', path.join(os.tmpdir())]);
      expect(elsewhere.stdout).not.toContain(name);
    } finally {
      seg.close();
      Segment.unlink(name);
    }
  });
});
