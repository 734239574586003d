// Fault matrix across processes: child processes are SIGKILLed at seeded random moments while
// they produce into a segment channel or hold a segment mutex; the parent must never hang past
// its bounds, must get every committed message exactly once and intact, and must see PEER_DEAD /
// OWNER_DEAD exactly where the contract says. Reproduce a failure with SHMKIT_SEED=<seed>.

import { setTimeout as delay } from 'node:timers/promises';
import { ShmkitError } from '@shmkit/core';
import { futexWaiter, Segment } from '@shmkit/segment';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Child,
  killChildren,
  leftoverSegments,
  removeSegments,
  rng,
  seedFrom,
  segmentName,
  startChild,
} from './helpers.js';

afterEach(() => {
  killChildren();
  removeSegments();
});

/** The checksum of fixtures/fault-child.mjs's messages. */
function checksum(m: Uint8Array): number {
  let sum = 0x811c9dc5;
  for (let i = 16; i < m.length; i++) sum = Math.imul(sum ^ m[i]!, 16777619) >>> 0;
  return (sum ^ m.length) >>> 0;
}

/** Fisher-Yates with the seeded generator. */
function shuffle<T>(a: T[], next: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('fault matrix: SIGKILLed producers', () => {
  const seed = seedFrom(0xc0ffee);
  const ROUNDS = 6;

  it(`delivers every committed message exactly once and then PEER_DEAD, over ${ROUNDS} rounds of seeded kills (seed ${seed})`, async () => {
    let delivered = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed} round ${round}`;
      const r = rng(seed + round);
      const producers = r.int(2, 3);
      const capacity = [1024, 4096, 16384][r.int(0, 2)]!;
      const name = segmentName(`ch${round}`);
      const seg = Segment.create(name, { size: 1 << 18 });
      const ch = seg.channel('c', { capacity, producers: 'many' });
      const children: Child[] = [];
      for (let id = 1; id <= producers; id++)
        children.push(startChild('fault-child.mjs', ['produce', name, id, capacity]));
      for (const c of children) expect(await c.line(), where).toBe('ready');

      // Kill every producer, in a seeded order, at seeded moments while the parent consumes.
      const order = shuffle(
        children.map((_, i) => i),
        r.next,
      );
      const killAt = order.map(() => r.int(0, 250)).sort((a, b) => a - b);
      const expected = new Array<number>(producers + 1).fill(0);
      const start = performance.now();
      let killed = 0;
      let end = 'none';
      for (;;) {
        const now = performance.now() - start;
        if (killed < producers && now >= killAt[killed]!) {
          children[order[killed]!]!.proc.kill('SIGKILL');
          killed++;
          continue;
        }
        // A seeded stall now and then lets the ring fill, so some kills hit a blocked send.
        if (r.next() < 0.01) {
          const until = performance.now() + r.int(1, 5);
          while (performance.now() < until) {}
        }
        let m: Uint8Array;
        try {
          m = ch.recv({ timeout: 20 });
        } catch (e) {
          if (!(e instanceof ShmkitError)) throw e;
          if (e.code === 'TIMEOUT' && (killed < producers || now < killAt[producers - 1]! + 5_000)) continue;
          end = e.code;
          break;
        }
        const v = new DataView(m.buffer, m.byteOffset, m.length);
        const id = v.getUint32(0, true);
        const seq = v.getUint32(4, true);
        expect(id >= 1 && id <= producers, `${where}: producer id ${id}`).toBe(true);
        expect(seq, `${where}: sequence of producer ${id}`).toBe(expected[id]);
        expect(v.getUint32(8, true), `${where}: length of ${id}/${seq}`).toBe(m.length);
        expect(v.getUint32(12, true), `${where}: checksum of ${id}/${seq}`).toBe(checksum(m));
        expected[id]!++;
        delivered++;
      }
      // Layout v2's claim lock (packages/channel/src/claim-lock.ts) makes every crash window
      // recoverable: a kill never leaves room nobody can size, so the end is always PEER_DEAD.
      expect(end, where).toBe('PEER_DEAD');
      for (const c of children) expect((await c.exited()).signal, where).toBe('SIGKILL');
      seg.close();
      seg.unlink();
    }
    expect(delivered).toBeGreaterThan(0);
    expect(leftoverSegments()).toEqual([]);
  });
});

describe('fault matrix: SIGKILLed consumers', () => {
  afterEach(() => {
    killChildren();
    removeSegments();
  });

  it('frees the frame a SIGKILLed consumer held (many consumers), so senders and survivors go on', async () => {
    const name = segmentName('consumer');
    const seg = Segment.create(name, { size: 1 << 20 });
    const capacity = 1024;
    const ch = seg.channel('c', { capacity, producers: 'many', consumers: 'many' });
    ch.send(new Uint8Array([7, 7, 7]));
    const child = startChild('fault-child.mjs', ['consume-and-hold', name, capacity]);
    expect(await child.line()).toBe('holding 3');
    let sent = 0;
    while (ch.trySend(new Uint8Array([sent & 255]))) sent++;
    // The ring is full behind the held frame: room only comes back once that frame is released.
    expect(() => ch.send(new Uint8Array([1]), { timeout: 50 })).toThrowError(
      expect.objectContaining({ code: 'TIMEOUT' }),
    );
    child.proc.kill('SIGKILL');
    expect((await child.exited()).signal).toBe('SIGKILL');
    // Within a liveness slice the waiting sender releases the dead consumer's frame (its
    // message is lost with it) and finds room; every other message arrives exactly once.
    ch.send(new Uint8Array([250]), { timeout: 10_000 });
    for (let i = 0; i < sent; i++) expect(Array.from(ch.recv({ timeout: 10_000 }))).toEqual([i & 255]);
    expect(Array.from(ch.recv({ timeout: 10_000 }))).toEqual([250]);
    expect(ch.tryRecv()).toBeUndefined();
    seg.close();
  });
});

describe('fault matrix: SIGKILLed mutex holders', () => {
  const seed = seedFrom(0xdead);
  const ROUNDS = 4;
  // Words of bytes('data'), as in fixtures/fault-child.mjs.
  const TOTAL = 0;
  const FREEZE = 1;
  const ACK = 2;
  const STOP = 3;
  const SLOTS = 8;
  const MAX_ID = 24;

  it(`hands OWNER_DEAD to exactly one next locker per kill and keeps the protected counter consistent (seed ${seed})`, async () => {
    const r = rng(seed);
    const name = segmentName('mutex');
    const seg = Segment.create(name, { size: 1 << 16 });
    const m = seg.mutex('m');
    const b = seg.bytes('data', 4 * (SLOTS + MAX_ID));
    const data = new Int32Array(b.buffer, b.byteOffset, SLOTS + MAX_ID);
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed} round ${round}`;
      const ids = [1, 2, 3].map((k) => round * 3 + k);
      const children = ids.map((id) => startChild('fault-child.mjs', ['mutex', name, id]));
      for (const c of children) expect(await c.line(), where).toBe('ready');
      await delay(r.int(0, 40));
      const victim = r.int(0, 2);
      Atomics.store(data, ACK, 0);
      Atomics.store(data, FREEZE, ids[victim]!);
      // Bounded: the victim stops inside its critical section, holding the mutex, and says so.
      const ackBy = performance.now() + 10_000;
      while (Atomics.load(data, ACK) !== ids[victim]) {
        expect(performance.now() < ackBy, `${where}: victim never froze`).toBe(true);
        await futexWaiter.waitAsync(data, ACK, Atomics.load(data, ACK), 50);
      }
      children[victim]!.proc.kill('SIGKILL');
      expect((await children[victim]!.exited()).signal, where).toBe('SIGKILL');
      await delay(r.int(0, 40));
      Atomics.store(data, STOP, 1);
      const reports: { id: number; iterations: number; ownerDead: number }[] = [];
      for (const [i, c] of children.entries()) {
        if (i === victim) continue;
        const x = await c.exited();
        expect(x.code, `${where}: ${x.stderr}`).toBe(0);
        reports.push(JSON.parse(x.stdout.split('\n').filter(Boolean).at(-1)!));
      }
      let ownerDead = reports.reduce((n, x) => n + x.ownerDead, 0);
      try {
        m.lock({ timeout: 5_000 });
      } catch (e) {
        expect(ShmkitError.is(e, 'OWNER_DEAD'), `${where}: ${String(e)}`).toBe(true);
        ownerDead++;
        let sum = 0;
        for (let i = 0; i < MAX_ID; i++) sum += data[SLOTS + i]!;
        data[TOTAL] = sum;
        m.consistent();
      }
      expect(ownerDead, `${where}: OWNER_DEAD reports`).toBe(1);
      let sum = 0;
      for (let i = 0; i < MAX_ID; i++) sum += data[SLOTS + i]!;
      expect(data[TOTAL], `${where}: total against the slots`).toBe(sum);
      for (const x of reports) expect(data[SLOTS + x.id], `${where}: slot of ${x.id}`).toBe(x.iterations);
      m.unlock();
      Atomics.store(data, STOP, 0);
      Atomics.store(data, FREEZE, 0);
    }
    // Still an ordinary mutex afterwards.
    expect(m.tryLock()).toBe(true);
    m.unlock();
    seg.close();
    seg.unlink();
    expect(leftoverSegments()).toEqual([]);
  });
});
