import { Channel } from '@shmkit/channel';
import { Segment } from '@shmkit/segment';
import { struct } from '@shmkit/struct';
import { describe, expect, it } from 'vitest';
import { spawnFixture } from '../../../test/helpers/children.js';
import { codeOf } from '../../../test/helpers/errors.js';
import { runWorker, runWorkers } from '../../../test/helpers/workers.js';
import { cleanUpTestSegments, segmentName } from '../../segment/test/helpers.js';
import { Counter, Tick, tick } from './fixtures/types.js';

const worker = new URL('./fixtures/atomic-worker.ts', import.meta.url);
const codecWorker = new URL('./fixtures/codec-worker.ts', import.meta.url);
const fixtures = new URL('./fixtures/', import.meta.url);
const ROUNDS = 20_000;

cleanUpTestSegments();

function expectTotals(arr: ReturnType<typeof Counter.alloc>, parties: number): void {
  const perElement = BigInt((ROUNDS * (ROUNDS + 1)) / 2) * BigInt(parties);
  for (const v of arr) {
    expect(v.hits).toBe(ROUNDS * parties);
    expect(v.total).toBe(perElement);
    expect(Array.from(v.byWorker)).toEqual([0, 1, 2, 3].map((w) => (w < parties ? ROUNDS : 0)));
  }
}

describe('struct atomics between threads and processes', () => {
  it('keeps exact totals when two workers atomic.add to one struct array', async () => {
    const arr = Counter.alloc(8);
    const start = new SharedArrayBuffer(4);
    await runWorkers(
      worker,
      [0, 1].map((w) => ({ handle: arr.handle, worker: w, rounds: ROUNDS, start })),
      120_000,
    );
    expectTotals(arr, 2);
  });

  it('keeps exact totals when two processes atomic.add to a segment struct array', async () => {
    const name = segmentName('struct-atomics');
    const seg = Segment.create(name, { size: 1 << 16 });
    const arr = seg.structArray('counters', Counter, 8);
    const children = [0, 1].map((w) => spawnFixture(fixtures, 'struct-child.mjs', [name, w, ROUNDS]));
    for (const c of children) {
      const r = await c.exited(120_000);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('done');
      expect(r.code).toBe(0);
    }
    expectTotals(arr, 2);
    seg.close();
  });
});

describe('struct codec between threads', () => {
  it('delivers 20k structs from a worker exactly once, in order, every field intact', async () => {
    const ch = new Channel({ codec: Tick.codec, capacity: 1 << 12 });
    const count = 20_000;
    const sent = runWorker(codecWorker, { channel: ch.handle, count }, 60_000);
    for (let i = 0; i < count; i++) expect(ch.recv({ timeout: 30_000 })).toEqual(tick(i));
    await sent;
    expect(ch.tryRecv()).toBeUndefined();
  });
});

describe('seg.struct and seg.structArray', () => {
  it('hands every caller the same zeroed struct, and INCOMPATIBLE to another layout', () => {
    const name = segmentName('struct-named');
    const seg = Segment.create(name, { size: 1 << 16 });
    const Stats = struct({ requests: 'u32', latency: 'f64', label: 'utf8:16' }, { name: 'Stats' });
    const s = seg.struct('stats', Stats);
    expect(s.toJSON()).toEqual({ requests: 0, latency: 0, label: '' });
    s.latency = 1.5;
    s.label = 'api';
    Stats.atomic.add(s, 'requests', 3);
    const again = Segment.open(name);
    const t = again.struct('stats', Stats);
    expect(t.toJSON()).toEqual({ requests: 3, latency: 1.5, label: 'api' });
    // The same fields in another order, or another type: another layout.
    const Other = struct({ latency: 'f64', requests: 'u32', label: 'utf8:16' });
    expect(codeOf(() => again.struct('stats', Other))).toBe('INCOMPATIBLE');
    expect(codeOf(() => again.structArray('stats', Stats, 1))).toBe('INCOMPATIBLE');
    expect(codeOf(() => again.bytes('stats', Stats.byteLength))).toBe('INCOMPATIBLE');
    const a = again.structArray('many', Stats, 5);
    expect(a.length).toBe(5);
    expect(codeOf(() => seg.structArray('many', Stats, 6))).toBe('INCOMPATIBLE');
    expect(seg.structArray('many', Stats, 5).at(4).requests).toBe(0);
    expect(codeOf(() => seg.struct('x', {} as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => seg.structArray('x', Stats, 0))).toBe('INVALID_ARGUMENT');
    expect(seg.objects().find((o) => o.key === 'stats')?.kind).toBe('struct');
    again.close();
    seg.close();
  });
});
