import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALL_BACKEND_IDS, type BenchReport, formatTables, toHtml } from '@shmkit/bench';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_LINE, shmkit } from './helpers.js';

// One small CLI run (two thread backends, one process backend, both patterns, bytes at two sizes
// and objects) writes every report; the tests below check each of them.
let dir: string;
let run: Awaited<ReturnType<typeof shmkit>>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shmkit-bench-test-'));
  run = await shmkit([
    'bench',
    '--backends',
    'postmessage,shmkit-thread,uds',
    '--sizes',
    '64,4k',
    '--payloads',
    'bytes,object',
    '--reps',
    '2',
    '--messages',
    '32',
    '--json',
    path.join(dir, 'out', 'bench.json'),
    '--md',
    path.join(dir, 'bench.md'),
    '--html',
    path.join(dir, 'bench.html'),
  ]);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONTRACT = [
  'backend',
  'pattern',
  'payload',
  'size',
  'messages',
  'msgsPerSec',
  'mbPerSec',
  'rttP50Us',
  'rttP99Us',
  'cpuUsPerMsg',
  'verified',
] as const;

const isNumber = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);

describe('shmkit bench reports', () => {
  it('exits 0 and prints the tables with every result verified', () => {
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('stream: one-way throughput');
    expect(run.stdout).toContain('rtt: round trip µs, p50 / p99');
    expect(run.stdout).toMatch(/all 18 results verified/);
  });

  it('writes JSON that matches the shmkit-bench/1 schema of docs/format.md', () => {
    const report = JSON.parse(readFileSync(path.join(dir, 'out', 'bench.json'), 'utf8')) as BenchReport;
    expect(report.schema).toBe('shmkit-bench/1');
    expect(report.machine).toMatchObject({
      cpu: expect.any(String),
      cores: expect.any(Number),
      node: process.version,
      kernel: expect.any(String),
    });
    expect(report.results).toHaveLength(18);
    for (const r of report.results) {
      for (const key of CONTRACT) expect(r).toHaveProperty(key);
      expect(ALL_BACKEND_IDS).toContain(r.backend);
      expect(['stream', 'rtt']).toContain(r.pattern);
      expect(['bytes', 'object']).toContain(r.payload);
      expect(Number.isInteger(r.size) && r.size > 0).toBe(true);
      expect(r.messages).toBe(2 * 32);
      expect(isNumber(r.msgsPerSec)).toBe(true);
      expect(isNumber(r.cpuUsPerMsg)).toBe(true);
      expect(r.verified).toBe(true);
      if (r.pattern === 'stream') {
        expect(isNumber(r.mbPerSec)).toBe(true);
        expect(r.rttP50Us).toBeNull();
        expect(r.rttP99Us).toBeNull();
      } else {
        expect(r.mbPerSec).toBeNull();
        expect(isNumber(r.rttP50Us)).toBe(true);
        expect(r.rttP99Us!).toBeGreaterThanOrEqual(r.rttP50Us!);
      }
    }
  });

  it('writes one self-contained HTML file with a chart per pattern and no external URL', () => {
    const html = readFileSync(path.join(dir, 'bench.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toMatch(/<svg class="chart" data-pattern="stream"/);
    expect(html).toMatch(/<svg class="chart" data-pattern="rtt"/);
    expect(html).toContain('throughput vs payload size');
    expect(html).toContain('latency percentiles');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
  });

  it('writes a Markdown report with the tables and every result', () => {
    const md = readFileSync(path.join(dir, 'bench.md'), 'utf8');
    expect(md).toMatch(/^# shmkit bench/);
    expect(md).toContain('| backend | 64 B | 4 KiB | object');
    expect(md.match(/\| (postmessage|shmkit-thread|uds) \| (stream|rtt) \|/g)).toHaveLength(18);
  });

  it('shows the load average in the HTML report, and the busy-machine warning when there was one', () => {
    const report = JSON.parse(readFileSync(path.join(dir, 'out', 'bench.json'), 'utf8')) as BenchReport;
    expect(Array.isArray(report.warnings)).toBe(true);
    const load = report.machine.loadAverage.map((x) => x.toFixed(2)).join(' / ');
    expect(toHtml(report)).toContain(`load average ${load}`);
    const busy = { ...report, warnings: ['the machine is busy (load average 9.00 on 2 cores)'] };
    expect(toHtml(busy)).toContain(
      '<p class="warn">Warning: the machine is busy (load average 9.00 on 2 cores).</p>',
    );
    expect(toHtml({ ...report, warnings: [] })).not.toContain('class="warn"');
  });

  it('lists a backend skipped for objects once, whatever the number of patterns', () => {
    const report = JSON.parse(readFileSync(path.join(dir, 'out', 'bench.json'), 'utf8')) as BenchReport;
    const twice = {
      ...report,
      skipped: (['stream', 'rtt'] as const).map((pattern) => ({
        backend: 'uds' as const,
        reason: 'cannot carry a BigInt',
        pattern,
        payload: 'object' as const,
      })),
    };
    const text = formatTables(twice, { color: false });
    expect(text.match(/uds \(object payload\) skipped: cannot carry a BigInt/g)).toHaveLength(1);
    expect(toHtml(twice).match(/uds \(object payload\) skipped/g)).toHaveLength(1);
  });
});

describe('shmkit bench --sizes', () => {
  it('measures only those byte sizes: no object column unless objects are asked for', async () => {
    const out = path.join(dir, 'sizes.json');
    const r = await shmkit([
      'bench',
      '--backends',
      'postmessage',
      '--sizes',
      '64',
      '--pattern',
      'stream',
      '--reps',
      '1',
      '--messages',
      '8',
      '--json',
      out,
      '--no-progress',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
    expect(report.options.payloads).toEqual(['bytes']);
    expect(report.results.map((x) => `${x.payload} ${x.size}`)).toEqual(['bytes 64']);
    expect(r.stdout).not.toContain('object');
  }, 60_000);
});
