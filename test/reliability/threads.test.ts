// Worker threads terminated mid-operation: the rest of the process keeps working, nothing torn
// is delivered, and a terminated thread that held a heap Mutex leaves it locked (heap memory
// cannot observe a thread's death: waiters time out, as docs/reliability.md says).
import { Worker } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { Mutex } from '@shmkit/sync';
import { describe, expect, it } from 'vitest';
import { bounded } from '../helpers/children.js';

const fixture = new URL('./fixtures/thread-worker.mjs', import.meta.url);

function start(data: object): { worker: Worker; first: Promise<unknown> } {
  const worker = new Worker(fixture, { workerData: data });
  const first = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, first };
}

describe('terminated worker threads', () => {
  it('delivers only whole messages from a producer terminated mid-stream, and the channel goes on', async () => {
    for (let round = 0; round < 5; round++) {
      const ch = new Channel({ capacity: 4096 });
      const { worker, first } = start({ task: 'send', channel: ch.handle });
      await bounded(first, 20_000, 'worker start');
      let next = 0;
      const check = (m: Uint8Array): void => {
        const seq = new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0, true);
        expect(seq).toBe(next++);
        expect(m.length).toBe(8 + (seq % 120));
        for (let i = 8; i < m.length; i++) expect(m[i]).toBe((seq * 7 + i) & 0xff);
      };
      for (let i = 0; i < 200 * (round + 1); i++) check(ch.recv({ timeout: 10_000 }));
      await worker.terminate();
      for (let m = ch.tryRecv(); m !== undefined; m = ch.tryRecv()) check(m);
      // The producer's half-written frame (if any) was never published; this thread takes over.
      ch.send(new Uint8Array([1, 2, 3]));
      expect(Array.from(ch.recv({ timeout: 1000 }))).toEqual([1, 2, 3]);
    }
  });

  it('leaves a heap Mutex locked when its holder is terminated: waiters time out, the process goes on', async () => {
    const m = new Mutex();
    const other = new Mutex();
    const { worker, first } = start({ task: 'hold', mutex: m.handle });
    expect(await bounded(first, 20_000, 'worker start')).toBe('holding');
    await worker.terminate();
    expect(() => m.lock({ timeout: 50 })).toThrowError(expect.objectContaining({ code: 'TIMEOUT' }));
    await expect(m.lockAsync({ timeout: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    other.withLock(() => undefined);
    expect(other.locked).toBe(false);
  });
});
