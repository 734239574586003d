/**
 * One suite for the six primitives, run on every kind of memory and sharing they support: heap
 * memory between worker threads, segment memory between worker threads (handles), and segment
 * memory between processes (opened by name and key). The parties are real threads and processes,
 * mixing blocking and async calls; every result is counted exactly and every wait is bounded.
 * A second part runs, on each kind of memory, what one thread can check alone: every wait that
 * times out or is aborted leaves the primitive as it found it, and handles re-attach by type.
 */
import { Worker } from 'node:worker_threads';
import { type Handle, pendingEventLoopHolds, type Region } from '@shmkit/core';
import { Segment } from '@shmkit/segment';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { killChildren, spawnFixture } from '../helpers/children.js';
import { asyncCodeOf, codeOf } from '../helpers/errors.js';
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

/**
 * Checks the three ways a wait gives up: the async form times out with TIMEOUT, and rejects with
 * ABORTED (the abort's reason as `cause`) when aborted while it sleeps; the blocking form, when
 * given, times out with TIMEOUT (or whatever `blockingCode` says it refuses with first).
 */
async function expectGivesUp(
  waitAsync: (o: { timeout?: number; signal?: AbortSignal }) => Promise<unknown>,
  {
    blocking,
    blockingCode = 'TIMEOUT',
  }: { blocking?: (o: { timeout: number }) => unknown; blockingCode?: string },
): Promise<void> {
  if (blocking !== undefined) expect(codeOf(() => blocking(t20))).toBe(blockingCode);
  expect(await asyncCodeOf(waitAsync(t20))).toBe('TIMEOUT');
  const ac = new AbortController();
  const reason = new Error('stop');
  const sleeping = waitAsync({ signal: ac.signal });
  ac.abort(reason);
  await expect(sleeping).rejects.toMatchObject({ code: 'ABORTED', cause: reason });
}

/** A wait started before `release` completes after it: no wake-up went to the waits that gave up. */
async function expectWokenBy(wait: Promise<unknown>, release: () => void, what: string): Promise<void> {
  release();
  await withTimeout(wait, 20_000, what);
}

const t20 = { timeout: 20 };
const tLong = { timeout: 20_000 };

/** One per memory: the thread-sharing fixtures (the process one shares the segment's memory). */
const memories = sharings.filter((s) => !s.name.endsWith('processes'));

describe.each(memories)('primitives on $name, waits that give up', (sharing) => {
  afterEach(() => expect(pendingEventLoopHolds()).toBe(0));

  it('Mutex: a timed-out or aborted lockAsync leaves no waiter behind; the next one is woken', () =>
    withFixture(sharing, async (f) => {
      const m = f.make<Mutex>('mutex', 'mutex');
      m.lock();
      // This thread holds it: its blocking lock is refused, its async tasks wait like anyone's.
      await expectGivesUp((o) => m.lockAsync(o), { blocking: (o) => m.lock(o), blockingCode: 'DEADLOCK' });
      await expectWokenBy(m.lockAsync(tLong), () => m.unlock(), 'lockAsync after unlock');
      expect(m.heldByCurrentThread).toBe(true);
      m.unlock();
      expect(m.locked).toBe(false);
    }));

  it('Condition: wait times out with the mutex held again; an aborted waitAsync re-locks it', () =>
    withFixture(sharing, async (f) => {
      const m = f.make<Mutex>('mutex', 'mutex');
      const c = f.make<Condition>('cond', 'condition');
      expect(codeOf(() => c.wait(m))).toBe('NOT_OWNER');
      m.lock();
      expect(c.wait(m, t20)).toBe(false);
      expect(c.waitFor(m, () => false, t20)).toBe(false);
      expect(await c.waitAsync(m, t20)).toBe(false);
      // A Condition's timeout is a false result, not an error; only its abort rejects.
      const ac = new AbortController();
      const sleeping = c.waitAsync(m, { signal: ac.signal });
      ac.abort();
      expect(await asyncCodeOf(sleeping)).toBe('ABORTED');
      expect(m.heldByCurrentThread).toBe(true);
      expect(c.waiting).toBe(0);
      expect(c.notify()).toBe(0);
      m.unlock();
    }));

  it('Semaphore: timed-out and aborted acquirers take nothing; the next one gets the permit', () =>
    withFixture(sharing, async (f) => {
      const s = f.make<Semaphore>('sem', 'semaphore', 0);
      await expectGivesUp((o) => s.acquireAsync(o), { blocking: (o) => s.acquire(o) });
      await expectWokenBy(s.acquireAsync(tLong), () => s.release(), 'acquireAsync after release');
      expect(s.value).toBe(0);
      s.release();
      expect(s.tryAcquire()).toBe(true);
    }));

  it('RwLock: a writer that gives up lets readers in again; a reader that gives up changes nothing', () =>
    withFixture(sharing, async (f) => {
      const rw = f.make<RwLock>('rw', 'rwlock');
      rw.readLock();
      await expectGivesUp((o) => rw.writeLockAsync(o), { blocking: (o) => rw.writeLock(o) });
      expect(rw.tryReadLock()).toBe(true); // no writer is left waiting
      rw.readUnlock();
      rw.readUnlock();
      rw.writeLock();
      // The writer's own blocking readLock is refused; its async tasks wait like anyone's.
      await expectGivesUp((o) => rw.readLockAsync(o), {
        blocking: (o) => rw.readLock(o),
        blockingCode: 'DEADLOCK',
      });
      await expectWokenBy(rw.readLockAsync(tLong), () => rw.writeUnlock(), 'readLockAsync after writeUnlock');
      expect(rw.readers).toBe(1);
      rw.readUnlock();
      expect([rw.readers, rw.writeLocked]).toEqual([0, false]);
    }));

  it('Barrier: parties that give up are withdrawn, so the generation still needs everyone', () =>
    withFixture(sharing, async (f) => {
      const b = f.make<Barrier>('barrier', 'barrier', 2);
      await expectGivesUp((o) => b.waitAsync(o), { blocking: (o) => b.wait(o) });
      const first = b.waitAsync(tLong);
      expect(b.generation).toBe(0);
      const both = await withTimeout(Promise.all([first, b.waitAsync(tLong)]), 20_000, 'barrier');
      expect(both.filter(Boolean)).toHaveLength(1);
      expect(b.generation).toBe(1);
    }));

  it('Latch: waits that give up leave the count alone; the last countDown opens it', () =>
    withFixture(sharing, async (f) => {
      const l = f.make<Latch>('latch', 'latch', 1);
      await expectGivesUp((o) => l.waitAsync(o), { blocking: (o) => l.wait(o) });
      expect(l.count).toBe(1);
      await expectWokenBy(l.waitAsync(tLong), () => l.countDown(), 'waitAsync after countDown');
      l.wait(t20);
    }));

  it('every primitive re-attaches through its handle and refuses a handle of another type', () =>
    withFixture(sharing, async (f) => {
      /** What the loop needs of a class: its inherited statics (typed per class, hence this view). */
      type Statics = { from(h: Handle): object; attach(r: Region): object } & (abstract new (
        ...a: never[]
      ) => object);
      const sem = f.make<Semaphore>('sem', 'semaphore', 2);
      const latch = f.make<Latch>('latch', 'latch', 2);
      const all: [string, Statics, Primitive][] = [
        ['Mutex', Mutex, f.make('mutex', 'mutex')],
        ['Condition', Condition, f.make('cond', 'condition')],
        ['Semaphore', Semaphore, sem],
        ['RwLock', RwLock, f.make('rw', 'rwlock')],
        ['Barrier', Barrier, f.make('barrier', 'barrier', 2)],
        ['Latch', Latch, latch],
      ];
      const other = f.make<Mutex>('other', 'mutex').handle;
      for (const [type, cls, o] of all) {
        const h = structuredClone(o.handle);
        expect(h.type).toBe(type);
        expect(cls.from(h)).toBeInstanceOf(cls);
        expect(cls.attach(o.memory)).toBeInstanceOf(cls);
        if (cls !== Mutex) expect(codeOf(() => cls.from(other))).toBe('INCOMPATIBLE');
      }
      expect(codeOf(() => Mutex.from(latch.handle))).toBe('INCOMPATIBLE');
      // The same memory: a Semaphore attached from its handle sees a permit taken through the original.
      sem.tryAcquire();
      expect(Semaphore.from(sem.handle).value).toBe(1);
    }));
});
