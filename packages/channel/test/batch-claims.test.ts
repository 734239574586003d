// Batches (docs/channel.md, "Batches" and "Many producers and many consumers"): a consumer of a
// many-consumer channel in recvMany/poll claims a run of frames with one CAS — what a run means
// for the consumer that holds it (pending frames, disposal) and for survivors when it dies
// mid-batch (SIGKILLed child processes) — and batches of large messages free and publish room
// message by message. Every wait is bounded.
import { Channel } from '@shmkit/channel';
import { Segment } from '@shmkit/segment';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killChildren, spawnFixture } from '../../../test/helpers/children.js';
import { runWorkers } from '../../../test/helpers/workers.js';
import { leftoverSegments, removeTestSegments, segmentName } from '../../segment/test/helpers.js';
import { checkSized, makeSized } from './fixtures/messages.js';

const fixtures = new URL('./fixtures/', import.meta.url);
const worker = new URL('./fixtures/channel-worker.ts', import.meta.url);

afterEach(() => {
  killChildren();
  removeTestSegments();
});
afterAll(() => expect(leftoverSegments()).toEqual([]));

/** The seq of a message after checking its every byte. */
const seqOf = (m: Uint8Array): number => checkSized(m)[1];

const lengthOf = (seq: number): number => 16 + ((seq * 37) % 90);

/** Fills an empty 4096-byte ring with 40-byte messages: all of it must have been released. */
function expectAllFree(ch: Channel): void {
  let n = 0;
  while (ch.trySend(makeSized(0, n, 40))) n++;
  expect(n).toBe(4096 / 64);
}

describe('batch claims in one process', () => {
  it('keeps the rest of a run claimed by a throwing poll for this object, and others go on past it', () => {
    const ch = new Channel({ capacity: 4096, producers: 'many', consumers: 'many' });
    const a = Channel.from(ch.handle);
    const b = Channel.from(ch.handle);
    for (let i = 0; i < 10; i++) ch.send(makeSized(0, i, 40));
    let calls = 0;
    expect(() =>
      a.poll(() => {
        if (++calls === 2) throw new Error('handler failed');
      }, 6),
    ).toThrow('handler failed');
    // a's run was messages 0..5: 0 and 1 are consumed, 2..5 wait for a; b takes what follows.
    expect(b.recvMany(10).map((m) => checkSized(m)[1])).toEqual([6, 7, 8, 9]);
    a.waitReadable({ timeout: 1000 });
    expect(a.recvMany(10).map((m) => checkSized(m)[1])).toEqual([2, 3, 4, 5]);
    // Everything was released in ring order: the whole ring is free again.
    expectAllFree(ch);
  });

  it('drops the rest of a pending run when its Channel object is disposed, releasing its room', () => {
    const ch = new Channel({ capacity: 4096, consumers: 'many' });
    const a = Channel.from(ch.handle);
    for (let i = 0; i < 8; i++) ch.send(makeSized(0, i, 40));
    expect(() =>
      a.poll(() => {
        throw new Error('stop');
      }, 5),
    ).toThrow('stop');
    a[Symbol.dispose]();
    expect(ch.recvMany(10).map((m) => checkSized(m)[1])).toEqual([5, 6, 7]);
    expectAllFree(ch);
  });

  it('takes at most the messages asked for in one claim (recvMany max, poll limit)', () => {
    const ch = new Channel({ capacity: 4096, consumers: 'many' });
    const a = Channel.from(ch.handle);
    const b = Channel.from(ch.handle);
    for (let i = 0; i < 9; i++) ch.send(makeSized(0, i, 30));
    expect(a.recvMany(2).map((m) => checkSized(m)[1])).toEqual([0, 1]);
    const seen: number[] = [];
    expect(b.poll((buf, off, len) => seen.push(checkSized(buf.subarray(off, off + len))[1]), 3)).toBe(3);
    expect(seen).toEqual([2, 3, 4]);
    expect(a.recvMany(100).map((m) => checkSized(m)[1])).toEqual([5, 6, 7, 8]);
  });
});

describe('a consumer process SIGKILLed in the middle of a batch', () => {
  it('loses only its run: survivors get every other message once, in order, intact, and senders go on', async () => {
    const name = segmentName('batch-claim');
    const seg = Segment.create(name, { size: 1 << 20 });
    const capacity = 4096;
    const ch = seg.channel('c', { capacity, producers: 'many', consumers: 'many' });
    let sent = 0;
    for (; sent < 20; sent++) ch.send(makeSized(0, sent, lengthOf(sent)));
    // The child claims messages 0..9 as one run, hands 0..2 to its handler, dies at 2.
    const child = spawnFixture(fixtures, 'batch-claim-child.mjs', [name, capacity, 10, 3]);
    const r = await child.exited(20_000);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('ready\ntook 0\ntook 1\ntook 2\n');
    // The rest of the ring is readable at once; its room behind the dead run is not free yet.
    const got: number[] = [];
    for (const m of ch.recvMany(100, { timeout: 10_000 })) got.push(seqOf(m));
    expect(got).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    while (ch.trySend(makeSized(0, sent, lengthOf(sent)))) sent++;
    // Within a liveness slice the waiting sender releases the dead consumer's whole run.
    const last = sent + 200;
    for (; sent < last; sent++) {
      ch.send(makeSized(0, sent, lengthOf(sent)), { timeout: 10_000 });
      for (const m of ch.tryRecvMany(8)) got.push(seqOf(m));
    }
    for (let m = ch.tryRecvMany(1000); m.length > 0; m = ch.tryRecvMany(1000))
      for (const x of m) got.push(seqOf(x));
    expect(got).toEqual(Array.from({ length: sent - 10 }, (_, i) => i + 10));
    seg.close();
  });

  it('with producers and a surviving consumer running: only the rest of the last run of the dead one is lost', async () => {
    const name = segmentName('batch-claim-live');
    const seg = Segment.create(name, { size: 1 << 20 });
    const capacity = 4096;
    const ch = seg.channel('c', { capacity, producers: 'many', consumers: 'many' });
    const survivor = Channel.from(ch.handle);
    const child = spawnFixture(fixtures, 'batch-claim-child.mjs', [name, capacity, 16, 5]);
    expect(await child.line()).toBe('ready');
    const total = 3000;
    const got: number[] = [];
    for (let sent = 0; sent < total; sent++) {
      // A send that waits runs the repairs after a quiet liveness slice (the dead run, here).
      ch.send(makeSized(0, sent, lengthOf(sent)), { timeout: 10_000 });
      for (const m of survivor.tryRecvMany(7)) got.push(seqOf(m));
    }
    const r = await child.exited(20_000);
    expect(r.signal).toBe('SIGKILL');
    for (let m = survivor.tryRecvMany(1000); m.length > 0; m = survivor.tryRecvMany(1000))
      for (const x of m) got.push(seqOf(x));
    const took = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('took '))
      .map((l) => Number(l.slice(5)));
    expect(took.length).toBe(5);
    // In order, each once, never to both; the lost messages are the rest of the dead one's last
    // run: contiguous, right after the last message it took, fewer than the poll's limit.
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]!);
    const have = new Set(got);
    for (const s of took) expect(have.has(s)).toBe(false);
    const handed = new Set([...got, ...took]);
    const lost = Array.from({ length: total }, (_, i) => i).filter((s) => !handed.has(s));
    expect(lost.length).toBeLessThan(16);
    if (lost.length > 0) {
      expect(lost[lost.length - 1]! - lost[0]! + 1).toBe(lost.length);
      expect(took[took.length - 1]).toBe(lost[0]! - 1);
    }
    seg.close();
  });
});

describe('batches of large messages', () => {
  it('give room back during the batch, not only at its end (poll, both consumer modes)', () => {
    for (const consumers of ['one', 'many'] as const) {
      const ch = new Channel({ capacity: 1 << 20, consumers });
      const big = 100 << 10;
      let sent = 0;
      while (ch.trySend(makeSized(0, sent, big))) sent++;
      let refilled = 0;
      const seen: number[] = [];
      ch.poll((buf, off, len) => {
        seen.push(checkSized(buf.subarray(off, off + len))[1]);
        // From the third message on, what the batch read before is free again.
        if (seen.length === 3 && ch.trySend(makeSized(0, sent + refilled, big))) refilled++;
      }, sent);
      expect(seen).toEqual(Array.from({ length: sent }, (_, i) => i));
      expect(refilled).toBe(1);
      expect(checkSized(ch.recv({ timeout: 1000 }))[1]).toBe(sent);
    }
  });

  it('arrive exactly once, in order and intact between worker threads (sendMany / recvMany, every mode)', async () => {
    for (const [producers, mode] of [
      [1, 'one'],
      [2, 'many'],
    ] as const) {
      const ch = new Channel({ capacity: 1 << 20, producers: mode, consumers: mode });
      const count = 60;
      const maxPayload = 300_000;
      const seen = new SharedArrayBuffer(producers * count);
      const consumers = runWorkers<{ count: number; outOfOrder: number }>(
        worker,
        Array.from({ length: producers }, () => ({
          role: 'consume-many',
          channel: ch.handle,
          seen,
          producers,
          count,
          maxPayload,
        })),
        120_000,
      );
      await runWorkers(
        worker,
        Array.from({ length: producers }, (_, p) => ({
          role: 'produce-batch',
          channel: ch.handle,
          producer: p,
          count,
          maxPayload,
        })),
        120_000,
      );
      ch.close();
      const results = await consumers;
      expect(results.reduce((a, r) => a + r.count, 0)).toBe(producers * count);
      expect(results.every((r) => r.outOfOrder === 0)).toBe(true);
      expect(new Uint8Array(seen).every((x) => x === 1)).toBe(true);
    }
  });
});
