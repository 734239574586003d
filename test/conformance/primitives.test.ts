/**
 * One suite for the six primitives, run on every kind of memory and sharing they support: heap
 * memory between worker threads, segment memory between worker threads (handles), and segment
 * memory between processes (opened by name and key). The parties are real threads and processes,
 * mixing blocking and async calls; every result is counted exactly and every wait is bounded.
 */
import { Worker } from 'node:worker_threads';
import { Segment } from '@shmkit/segment';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { killChildren, spawnFixture } from '../helpers/children.js';
import { withTimeout } from '../helpers/workers.js';

const fixtures = new URL('./fixtures/', import.meta.url);
const PEER_MS = 60_000;
/** Words of the shared data; the same as the peer's. */
const W = { COUNTER: 0, SLOT: 1, IN: 2, MAX_IN: 3, A: 4, B: 5, LEADERS: 6, DONE: 7, PHASE: 16 };

type Method = 'mutex' | 'condition' | 'semaphore' | 'rwlock' | 'barrier' | 'latch';
type Primitive = Mutex | Condition | Semaphore | RwLock | Barrier | Latch;

interface PeerResult {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}

/** One way of sharing the primitives: where they live and who the other parties are. */
interface Sharing {
  readonly name: string;
  /** Scale of each job: processes cost more to start and to switch between. */
  readonly n: number;
  /** Fresh primitives and data for one test. */
  open(): Fixture;
}

interface Fixture {
  /** Makes (get-or-creates) a primitive under `role`, as Segment's method of that name would. */
  make<T extends Primitive>(role: string, method: Method, ...args: number[]): T;
  readonly data: Int32Array;
  /** Runs `job` in one party per spec; resolves with their results in order. */
  run(job: string, parties: readonly Record<string, number>[]): Promise<PeerResult[]>;
  close(): void;
}

const heapConstructors: Record<Method, (...args: number[]) => Primitive> = {
  mutex: () => new Mutex(),
  condition: () => new Condition(),
  semaphore: (initial) => new Semaphore(initial!),
  rwlock: () => new RwLock(),
  barrier: (parties) => new Barrier(parties!),
  latch: (count) => new Latch(count!),
};

function runThread(spec: unknown): Promise<PeerResult> {
  const w = new Worker(new URL('primitives-peer.mjs', fixtures), { workerData: spec });
  const result = new Promise<PeerResult>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`peer exited with ${code} before reporting`)));
  });
  return withTimeout(result, PEER_MS, 'a peer thread').finally(() => void w.terminate());
}

async function runProcess(spec: unknown): Promise<PeerResult> {
  const child = spawnFixture(fixtures, 'primitives-peer.mjs', [JSON.stringify(spec)]);
  const line = await child.line(PEER_MS);
  await child.exited(PEER_MS);
  return JSON.parse(line) as PeerResult;
}

/** Handles in the spec: the parties attach with X.from(handle). */
function byHandles(objects: Map<string, Primitive>, data: Int32Array) {
  return {
    handles: Object.fromEntries([...objects].map(([role, o]) => [role, o.handle])),
    data: { buffer: data.buffer, byteOffset: data.byteOffset },
  };
}

let segmentCount = 0;
const openSegments = new Set<string>();

function segmentFixture(peers: 'threads' | 'processes'): Fixture {
  const name = `conf-${process.pid}-${++segmentCount}`;
  const seg = Segment.create(name, { size: 1 << 16 });
  openSegments.add(name);
  const bytes = seg.bytes('data', 256);
  const data = new Int32Array(bytes.buffer, bytes.byteOffset, 64);
  const objects = new Map<string, Primitive>();
  const recipes: Record<string, [Method, string, ...number[]]> = {};
  return {
    data,
    make<T extends Primitive>(role: string, method: Method, ...args: number[]): T {
      const o = (seg[method] as (key: string, ...a: number[]) => Primitive)(role, ...args);
      objects.set(role, o);
      recipes[role] = [method, role, ...args];
      return o as T;
    },
    run(job, parties) {
      const where =
        peers === 'threads' ? byHandles(objects, data) : { segment: name, objects: recipes, dataKey: 'data' };
      return Promise.all(
        parties.map((p) => (peers === 'threads' ? runThread : runProcess)({ job, where, ...p })),
      );
    },
    close() {
      seg.close();
    },
  };
}

const sharings: Sharing[] = [
  {
    name: 'heap memory, worker threads',
    n: 3000,
    open() {
      const data = new Int32Array(new SharedArrayBuffer(256));
      const objects = new Map<string, Primitive>();
      return {
        data,
        make<T extends Primitive>(role: string, method: Method, ...args: number[]): T {
          const o = heapConstructors[method](...args);
          objects.set(role, o);
          return o as T;
        },
        run: (job, parties) =>
          Promise.all(parties.map((p) => runThread({ job, where: byHandles(objects, data), ...p }))),
        close() {},
      };
    },
  },
  { name: 'segment memory, worker threads', n: 3000, open: () => segmentFixture('threads') },
  { name: 'segment memory, child processes', n: 600, open: () => segmentFixture('processes') },
];

afterEach(() => {
  killChildren();
  for (const name of openSegments) Segment.unlink(name);
  openSegments.clear();
});

/** Runs `body` on fresh primitives of `sharing`, closing them afterwards. */
async function withFixture(sharing: Sharing, body: (f: Fixture) => Promise<void>): Promise<void> {
  const f = sharing.open();
  try {
    await body(f);
  } finally {
    f.close();
  }
}

function expectAllOk(results: readonly PeerResult[]): void {
  for (const r of results) expect(r.error ?? '').toBe('');
}

describe.each(sharings)('primitives on $name', (sharing) => {
  const { n } = sharing;

  it('Mutex: keeps non-atomic increments by four parties exact (lock, withLock, lockAsync)', () =>
    withFixture(sharing, async (f) => {
      const m = f.make<Mutex>('mutex', 'mutex');
      const results = await f.run(
        'mutex',
        [0, 1, 2, 3].map((id) => ({ id, n })),
      );
      expectAllOk(results);
      expect(f.data[W.COUNTER]).toBe(4 * n);
      expect(m.locked).toBe(false);
    }));

  it('Condition: hands every value from two producers to two consumers exactly once', () =>
    withFixture(sharing, async (f) => {
      f.make('mutex', 'mutex');
      f.make('cond', 'condition');
      const per = Math.max(50, n / 10);
      // Producers wait for consumers to take each value: both sides run at once.
      const [produced, consumed] = await Promise.all([
        f.run('produce', [
          { id: 0, n: per },
          { id: 1, n: per },
        ]),
        f.run('consume', [
          { id: 0, n: per },
          { id: 1, n: per },
        ]),
      ]);
      expectAllOk([...produced, ...consumed]);
      expect(consumed.map((r) => r.count)).toEqual([per, per]);
      // Each producer sends 1..per: every value arrives once, none twice.
      expect(consumed.reduce((s, r) => s + (r.sum as number), 0)).toBe(per * (per + 1));
      expect(f.data[W.SLOT]).toBe(0);
    }));

  it('Semaphore: never lets more than its permits in at once, and lets every acquirer through', () =>
    withFixture(sharing, async (f) => {
      const permits = 2;
      const sem = f.make<Semaphore>('sem', 'semaphore', permits);
      const results = await f.run(
        'semaphore',
        [0, 1, 2, 3].map((id) => ({ id, n })),
      );
      expectAllOk(results);
      expect(f.data[W.MAX_IN]).toBeGreaterThanOrEqual(1);
      expect(f.data[W.MAX_IN]).toBeLessThanOrEqual(permits);
      expect(f.data[W.IN]).toBe(0);
      expect(sem.value).toBe(permits);
    }));

  it('RwLock: readers never see a writer half done, and writes are exact', () =>
    withFixture(sharing, async (f) => {
      f.make('rw', 'rwlock');
      const results = await Promise.all([
        f.run('write', [
          { id: 0, n },
          { id: 1, n },
        ]),
        f.run('read', [
          { id: 0, n },
          { id: 1, n },
        ]),
      ]);
      expectAllOk(results.flat());
      for (const r of results[1]) expect(r.torn).toBe(0);
      expect([f.data[W.A], f.data[W.B]]).toEqual([2 * n, 2 * n]);
    }));

  it('Barrier: holds every party until all arrive, with one leader per generation', () =>
    withFixture(sharing, async (f) => {
      const parties = 3;
      const generations = Math.max(20, n / 30);
      f.make('barrier', 'barrier', parties);
      const results = await f.run(
        'barrier',
        Array.from({ length: parties }, (_, id) => ({ id, n: generations, parties })),
      );
      expectAllOk(results);
      for (const r of results) expect(r.early).toBe(0);
      expect(results.reduce((s, r) => s + (r.led as number), 0)).toBe(generations);
    }));

  it('Latch: opens for every waiter once all parties counted down, their work visible', () =>
    withFixture(sharing, async (f) => {
      const count = 3;
      const latch = f.make<Latch>('latch', 'latch', count);
      const waiting = f.run('awaitLatch', [{ id: 0 }, { id: 1 }]);
      const counted = await f.run('countDown', [{ id: 0 }, { id: 1 }, { id: 2 }]);
      expectAllOk(counted);
      const waited = await waiting;
      expectAllOk(waited);
      for (const r of waited) expect([r.seen, r.count]).toEqual([count, 0]);
      expect(latch.count).toBe(0);
    }));
});
