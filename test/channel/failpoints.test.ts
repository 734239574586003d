// Crash windows of the channel's producers, hit deterministically: a producer process armed with
// SHMKIT_FAILPOINT SIGKILLs itself at `channel.after-claim` (room reserved, nothing written) or
// `channel.before-commit` (payload written, not published) of its first send, while another
// producer process keeps sending. For every mode and send path the parent must get every message
// of the live producer exactly once, in order and intact, nothing of the dead one, and the
// channel must stay usable (0 wedged). SHMKIT_FAILPOINT_ROUNDS repeats the matrix (the script
// `pnpm failpoints` runs enough rounds for over 1,000 kills).

import { ShmkitError } from '@shmkit/core';
import { Segment } from '@shmkit/segment';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnFixture } from '../helpers/children.js';
import { killChildren, removeSegments, segmentName } from '../reliability/helpers.js';

afterEach(() => {
  killChildren();
  removeSegments();
});

const fixtures = new URL('./fixtures/', import.meta.url);
const ROUNDS = Number(process.env.SHMKIT_FAILPOINT_ROUNDS ?? 1);
const LIVE_COUNT = 300;

function checksum(m: Uint8Array): number {
  let sum = 0x811c9dc5;
  for (let i = 16; i < m.length; i++) sum = Math.imul(sum ^ m[i]!, 16777619) >>> 0;
  return (sum ^ m.length) >>> 0;
}

type Mode = 'one' | 'many';
interface Case {
  point: 'channel.after-claim' | 'channel.before-commit';
  producers: Mode;
  consumers: Mode;
  variant: 'single' | 'batch' | 'fragment';
}

const cases: Case[] = [];
for (const point of ['channel.after-claim', 'channel.before-commit'] as const)
  for (const producers of ['one', 'many'] as const)
    for (const consumers of ['one', 'many'] as const)
      for (const variant of ['single', 'batch', 'fragment'] as const)
        if (variant !== 'fragment' || consumers === 'one')
          cases.push({ point, producers, consumers, variant });

async function runCase(c: Case, round: number): Promise<number> {
  const where = `${c.point} ${c.producers}/${c.consumers} ${c.variant} round ${round}`;
  const capacity = 4096;
  const name = segmentName('fp');
  const seg = Segment.create(name, { size: 1 << 16 });
  const ch = seg.channel('c', { capacity, producers: c.producers, consumers: c.consumers });
  const args = (id: number, count: number) => [
    name,
    capacity,
    c.producers,
    c.consumers,
    id,
    count,
    c.variant,
  ];
  const victim = spawnFixture(fixtures, 'producer-child.mjs', args(1, 50), {
    env: { SHMKIT_FAILPOINT: c.point },
  });
  // With one producer at a time, the live producer starts after the victim died.
  const v = await victim.exited(30_000);
  expect(v.signal, `${where}: the victim died at its failpoint (${v.stdout}${v.stderr})`).toBe('SIGKILL');
  const live = spawnFixture(fixtures, 'producer-child.mjs', args(2, LIVE_COUNT));
  let next = 0;
  const deadline = performance.now() + 60_000;
  const check = (m: Uint8Array): void => {
    const dv = new DataView(m.buffer, m.byteOffset, m.length);
    expect(dv.getUint32(0, true), `${where}: producer`).toBe(2);
    expect(dv.getUint32(4, true), `${where}: sequence`).toBe(next);
    expect(dv.getUint32(8, true), `${where}: length`).toBe(m.length);
    expect(dv.getUint32(12, true), `${where}: checksum`).toBe(checksum(m));
    next++;
  };
  // Each send path is received another way, so the batch receive paths cross processes too.
  const target = new Uint8Array(capacity * 8);
  while (next < LIVE_COUNT) {
    expect(performance.now() < deadline, `${where}: wedged after ${next} messages`).toBe(true);
    try {
      if (c.variant === 'single') check(ch.recv({ timeout: 100 }));
      else if (c.variant === 'fragment') check(target.subarray(0, ch.recvInto(target, { timeout: 100 })));
      else if (round % 2 === 0) for (const m of ch.recvMany(16, { timeout: 100 })) check(m);
      else {
        ch.waitReadable({ timeout: 100 });
        ch.poll((buf, off, len) => check(buf.subarray(off, off + len)));
      }
    } catch (e) {
      // PEER_DEAD is right while the live producer has not registered yet (on its first send):
      // every producer registered so far is dead. Receiving goes on once one registers.
      if (ShmkitError.is(e, 'TIMEOUT') || ShmkitError.is(e, 'PEER_DEAD')) continue;
      throw new Error(`${where}: ${String(e)} after ${next} messages`);
    }
  }
  const l = await live.exited(30_000);
  expect(l.code, `${where}: live producer (${l.stderr})`).toBe(0);
  // Not wedged: this process can still send and receive, and nothing else is queued.
  expect(ch.tryRecv(), where).toBeUndefined();
  const small = new Uint8Array([1, 2, 3]);
  ch.send(small, { timeout: 10_000 });
  expect(Array.from(ch.recv({ timeout: 10_000 })), where).toEqual([1, 2, 3]);
  expect(ch.tryRecv(), where).toBeUndefined();
  seg.close();
  Segment.unlink(name);
  return next;
}

describe('channel failpoints: a producer SIGKILLed in its crash windows', () => {
  for (const c of cases) {
    it(
      `recovers from ${c.point} with ${c.producers} producers, ${c.consumers} consumers, ${c.variant} sends`,
      async () => {
        for (let round = 0; round < ROUNDS; round++) await runCase(c, round);
      },
      120_000 * ROUNDS,
    );
  }
});

describe('a producer SIGKILLed in the middle of a message larger than the ring', () => {
  const seed = Number(process.env.SHMKIT_SEED ?? 0x5eed);
  for (const producers of ['one', 'many'] as const) {
    it(`drops the partial message whole and delivers every whole one intact (${producers} producers, seed ${seed})`, async () => {
      let state = seed >>> 0;
      const rand = (n: number): number => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state % n;
      };
      for (let round = 0; round < 3; round++) {
        const where = `${producers} producers round ${round} seed ${seed}`;
        const capacity = 4096;
        const name = segmentName('cut');
        const seg = Segment.create(name, { size: 1 << 16 });
        const ch = seg.channel('c', { capacity, producers });
        const child = spawnFixture(fixtures, 'producer-child.mjs', [
          name,
          capacity,
          producers,
          'one',
          7,
          1_000_000,
          'fragment',
        ]);
        const killAfter = 1 + rand(4);
        let next = 0;
        let killed = false;
        let end = '';
        const deadline = performance.now() + 60_000;
        while (end === '') {
          expect(performance.now() < deadline, `${where}: wedged`).toBe(true);
          if (!killed && next >= killAfter) {
            // Let it get part of the way into its next message (3 rings long), then kill it.
            const until = performance.now() + rand(3);
            while (performance.now() < until) {}
            child.proc.kill('SIGKILL');
            killed = true;
          }
          try {
            const m = ch.recv({ timeout: 100 });
            const dv = new DataView(m.buffer, m.byteOffset, m.length);
            expect(dv.getUint32(4, true), `${where}: sequence`).toBe(next);
            expect(dv.getUint32(8, true), `${where}: length`).toBe(m.length);
            expect(dv.getUint32(12, true), `${where}: checksum (torn?)`).toBe(checksum(m));
            next++;
          } catch (e) {
            if (ShmkitError.is(e, 'TIMEOUT') || (!killed && ShmkitError.is(e, 'PEER_DEAD'))) continue;
            if (!(e instanceof ShmkitError)) throw e;
            end = e.code;
          }
        }
        expect(end, where).toBe('PEER_DEAD');
        expect((await child.exited()).signal, where).toBe('SIGKILL');
        // Not wedged: a new producer's message goes through.
        ch.send(new Uint8Array([4, 2]), { timeout: 10_000 });
        expect(Array.from(ch.recv({ timeout: 10_000 })), where).toEqual([4, 2]);
        seg.close();
        Segment.unlink(name);
      }
    }, 180_000);
  }
});
