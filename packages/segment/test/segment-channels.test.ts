/**
 * Channels of a segment between processes: every message of one or many producer processes
 * exactly once, in order and intact; PEER_DEAD for a producer that died, not for one that closed.
 */
import { Segment } from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/helpers/errors.js';
import { control, SIZE, startProducer, startTogether } from './control.js';
import { cleanUpTestSegments, segmentName } from './helpers.js';

cleanUpTestSegments();

describe('named objects: channels between processes', () => {
  it('delivers 100k messages from another process exactly once, in order, intact', async () => {
    const seg = Segment.create(segmentName('chan'), { size: SIZE });
    const capacity = 1 << 16;
    const ch = seg.channel('c', { capacity });
    const n = 100_000;
    const c = startProducer(seg, { n, capacity });
    const sums = receiveAll(ch, 1, n);
    const reported = JSON.parse(await c.line()) as { id: number; sum: number };
    expect(sums[0]).toBe(reported.sum);
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('delivers every message of 4 producer processes exactly once (many producers)', async () => {
    const seg = Segment.create(segmentName('mpsc'), { size: SIZE });
    const capacity = 1 << 14;
    const ch = seg.channel('c', { capacity, producers: 'many' });
    const ctl = control(seg);
    const n = 25_000;
    const children = [0, 1, 2, 3].map((id) =>
      startProducer(seg, { id, n, capacity, producers: 'many', waitForGo: true }),
    );
    await startTogether(ctl, 4);
    const sums = receiveAll(ch, 4, n);
    for (const c of children) {
      const { id, sum } = JSON.parse(await c.line()) as { id: number; sum: number };
      expect(sums[id]).toBe(sum);
    }
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('reports PEER_DEAD when the producer process died without closing, not after seg.close()', async () => {
    const seg = Segment.create(segmentName('peer'), { size: SIZE });
    const capacity = 4096;
    const ch = seg.channel('c', { capacity });
    const quitter = startProducer(seg, { n: 10, capacity });
    expect((await quitter.exited()).code).toBe(0);
    receiveAll(ch, 1, 10);
    expect(codeOf(() => ch.recv({ timeout: 10_000 }))).toBe('PEER_DEAD');

    const seg2 = Segment.create(segmentName('peer-closed'), { size: SIZE });
    const ch2 = seg2.channel('c', { capacity });
    const polite = startProducer(seg2, { n: 10, capacity, closeSegment: true });
    expect((await polite.exited()).code).toBe(0);
    receiveAll(ch2, 1, 10);
    expect(codeOf(() => ch2.recv({ timeout: 300 }))).toBe('TIMEOUT');
  });

  for (const producers of ['one', 'many'] as const) {
    it(`hands over everything a producer SIGKILLed mid-stream committed, then PEER_DEAD (${producers})`, async () => {
      const seg = Segment.create(segmentName(`kill-${producers}`), { size: SIZE });
      const capacity = 4096;
      const ch = seg.channel('c', { capacity, producers });
      const child = startProducer(seg, { n: 1_000_000_000, capacity, producers });
      receiveAll(ch, 1, 2000); // the producer is running flat out, the ring mostly full
      child.proc.kill('SIGKILL');
      expect((await child.exited()).signal).toBe('SIGKILL');
      // Whatever it committed before dying arrives intact and in order; then the channel says
      // its only producer is dead instead of waiting forever.
      let next = 2000;
      let code: string | undefined;
      for (;;) {
        let m: Uint8Array;
        try {
          m = ch.recv({ timeout: 10_000 });
        } catch (e) {
          code = (e as { code?: string }).code;
          break;
        }
        const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
        expect(v.getUint32(4, true)).toBe(next++);
        expect(v.getUint32(8, true)).toBe(m.length);
        for (let i = 12; i < m.length; i++) expect(m[i]).toBe(((next - 1) * 7 + i) & 0xff);
      }
      expect(code).toBe('PEER_DEAD');
    });
  }
});

/**
 * Receives `producers * n` messages (blocking, bounded) and checks each: its producer's next
 * sequence number, its length and every byte. Returns each producer's checksum.
 */
function receiveAll(
  ch: { recv(o: { timeout: number }): Uint8Array },
  producers: number,
  n: number,
): number[] {
  const next = new Array<number>(producers).fill(0);
  const sums = new Array<number>(producers).fill(0);
  for (let k = 0; k < producers * n; k++) {
    const m = ch.recv({ timeout: 30_000 });
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const id = v.getUint32(0, true);
    const seq = v.getUint32(4, true);
    if (id >= producers || seq !== next[id])
      throw new Error(`message ${k}: producer ${id} seq ${seq}, expected ${next[id]}`);
    next[id]!++;
    if (v.getUint32(8, true) !== m.length) throw new Error(`message ${k}: length ${m.length}`);
    for (let i = 12; i < m.length; i++) {
      if (m[i] !== ((id * 31 + seq * 7 + i) & 0xff)) throw new Error(`message ${k}: byte ${i} differs`);
    }
    let sum = sums[id]!;
    for (let i = 0; i < m.length; i++) sum = (sum + m[i]! * (i + 1)) >>> 0;
    sums[id] = sum;
  }
  return sums;
}
