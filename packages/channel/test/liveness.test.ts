// Producer liveness with a stand-in identity: the 'futex' memory kind is registered here with the
// heap waiter and an identity whose threads we can declare dead, so PEER_DEAD and the repair of
// half-written frames are tested without processes (the segment tests kill real ones).

import { Channel } from '@shmkit/channel';
import { heapWaiter, type Identity, Region, registerMemoryKind } from '@shmkit/core';
import { describe, expect, it } from 'vitest';

let me = 1;
const dead = new Set<number>();
const identity: Identity = { self: () => me, isAlive: (t) => !dead.has(t), livenessSliceMs: 10 };
registerMemoryKind('futex', { waiter: heapWaiter, identity });

function channel(producers: 'one' | 'many', consumers: 'one' | 'many' = 'one'): Channel {
  const size = Channel.byteLength(1024, { consumers });
  return new Channel({
    capacity: 1024,
    producers,
    consumers,
    region: new Region(new SharedArrayBuffer(size), 0, size, 'futex'),
  });
}

describe('Channel producer liveness', () => {
  it('drains what dead producers committed, skips their half-written frame, then reports PEER_DEAD', () => {
    dead.clear();
    for (const consumers of ['one', 'many'] as const) {
      const ch = channel('many', consumers);
      me = 5;
      ch.send(new Uint8Array([1]));
      me = 6;
      const other = Channel.from(ch.handle);
      other.send(new Uint8Array([2]));
      other.claim(10).fill(9); // killed before publish
      me = 7;
      const third = Channel.from(ch.handle);
      third.send(new Uint8Array([3])); // committed behind the half-written frame
      third.unregisterProducer(); // left cleanly: not a dead peer
      dead.add(5);
      dead.add(6);
      me = 8;
      const rx = Channel.from(ch.handle);
      expect(Array.from(rx.recv({ timeout: 1000 }))).toEqual([1]);
      expect(Array.from(rx.recv({ timeout: 1000 }))).toEqual([2]);
      expect(Array.from(rx.recv({ timeout: 1000 }))).toEqual([3]);
      expect(() => rx.recv({ timeout: 1000 })).toThrowError(expect.objectContaining({ code: 'PEER_DEAD' }));
    }
  });

  it('keeps waiting while one registered producer lives', () => {
    dead.clear();
    const ch = channel('one');
    me = 11;
    ch.send(new Uint8Array([1]));
    me = 12;
    const rx = Channel.from(ch.handle);
    rx.recv();
    expect(() => rx.recv({ timeout: 50 })).toThrowError(expect.objectContaining({ code: 'TIMEOUT' }));
    dead.add(11);
    expect(() => rx.recv({ timeout: 1000 })).toThrowError(expect.objectContaining({ code: 'PEER_DEAD' }));
  });

  it('releases a frame whose consumer died holding it, so senders and other consumers go on', () => {
    for (const producers of ['one', 'many'] as const) {
      dead.clear();
      const ch = channel(producers, 'many');
      me = 41;
      while (ch.trySend(new Uint8Array(40)));
      me = 42;
      const doomed = Channel.from(ch.handle);
      doomed.peek(); // claims the frame at head, then its thread "dies" before release()
      me = 43;
      const rx = Channel.from(ch.handle);
      let drained = 0;
      while (rx.tryRecv() !== undefined) drained++;
      me = 41;
      // Room behind the dead consumer's frame cannot come free while it lives.
      expect(() => ch.send(new Uint8Array(40), { timeout: 50 })).toThrowError(
        expect.objectContaining({ code: 'TIMEOUT' }),
      );
      dead.add(42);
      for (let i = 0; i < drained; i++) ch.send(new Uint8Array([i]), { timeout: 1000 });
      me = 43;
      for (let i = 0; i < drained; i++) expect(Array.from(rx.recv({ timeout: 1000 }))).toEqual([i]);
    }
  });

  it('takes a producer that unregistered, by any of its names, for one that left rather than died', () => {
    const leave: ((ch: Channel, region: Region, token: number) => void)[] = [
      (ch) => ch.unregisterProducer(),
      (ch) => ch.unregister(), // the deprecated name
      (_, region, token) => Channel.unregisterProducerToken(region, token),
      (_, region, token) => Channel.unregisterToken(region, token), // the deprecated name
    ];
    for (const [i, unregister] of leave.entries()) {
      dead.clear();
      const size = Channel.byteLength(1024);
      const region = new Region(new SharedArrayBuffer(size), 0, size, 'futex');
      const ch = new Channel({ capacity: 1024, region });
      const token = 31 + i;
      me = token;
      ch.send(new Uint8Array([1]));
      unregister(ch, region, token);
      dead.add(token);
      me = 39;
      const rx = Channel.from(ch.handle);
      rx.recv();
      // No registered producer is dead: the receiver waits (TIMEOUT) instead of PEER_DEAD.
      expect(() => rx.recv({ timeout: 50 })).toThrowError(expect.objectContaining({ code: 'TIMEOUT' }));
    }
  });

  it('reports CLOSED rather than PEER_DEAD for a channel closed before its producers died', async () => {
    dead.clear();
    const ch = channel('one');
    me = 21;
    ch.send(new Uint8Array([1]));
    ch.close();
    dead.add(21);
    me = 22;
    const rx = Channel.from(ch.handle);
    expect(rx.recv().length).toBe(1);
    await expect(rx.recvAsync({ timeout: 1000 })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
