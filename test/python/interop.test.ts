/**
 * Python and Node processes sharing one segment: channels both ways, many producers from both
 * languages, a Python producer killed mid-stream, a mutex counter, corrupted segments, and the
 * Python package's own unit tests. Skipped (with one line saying what to install) without python3.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { futexWaiter, Segment } from '@shmkit/segment';
import { afterEach, describe, expect, it } from 'vitest';
import { findPython, killPeers, peer } from './processes.js';

const { python, why } = findPython();
if (python === undefined) console.log(`skipping the Python interop tests: ${why}`);

const made: string[] = [];
let counter = 0;
function segment(tag: string): { name: string; seg: Segment } {
  const name = `pyt${process.pid}-${++counter}-${tag}`;
  made.push(name);
  return { name, seg: Segment.create(name, { size: 1 << 20 }) };
}

afterEach(() => {
  killPeers();
  for (const n of made.splice(0)) Segment.unlink(n);
});

/** Waits (bounded) until `n` children arrived at the control word, then lets them go. */
async function go(seg: Segment, n: number): Promise<void> {
  const b = seg.bytes('ctl', 64);
  const ctl = new Int32Array(b.buffer, b.byteOffset, 16);
  const end = performance.now() + 30_000;
  while (Atomics.load(ctl, 0) < n) {
    if (performance.now() > end) throw new Error(`only ${Atomics.load(ctl, 0)} of ${n} arrived`);
    await new Promise((r) => setTimeout(r, 10));
  }
  Atomics.store(ctl, 1, 1);
  futexWaiter.notify(ctl, 1, Number.POSITIVE_INFINITY);
}

const CAP = 4096;
const EACH = 2000;

describe.skipIf(python === undefined)('Python and Node share segments', () => {
  for (const [from, to] of [
    ['node', 'py'],
    ['py', 'node'],
  ] as const) {
    it(`delivers every message once and in order from a ${from} producer to a ${to} consumer`, async () => {
      const { name, seg } = segment(`${from}-${to}`);
      seg.channel('q', { capacity: CAP });
      seg.bytes('ctl', 64);
      const consumer = peer(to, ['consume', name, 'q', '7', EACH, CAP, 'one']);
      expect(await consumer.line()).toBe('ready');
      const producer = peer(from, ['produce', name, 'q', 7, EACH, CAP, 'one']);
      await go(seg, 1);
      expect(await producer.line()).toBe('done');
      expect(await consumer.line()).toBe(`ok ${EACH}`);
      expect((await consumer.exited()).code).toBe(0);
    });
  }

  for (const to of ['node', 'py'] as const) {
    it(`delivers exactly once, in each producer's order, from 2 Node and 2 Python producers to a ${to} consumer`, async () => {
      const { name, seg } = segment(`mixed-${to}`);
      seg.channel('q', { capacity: CAP, producers: 'many' });
      seg.bytes('ctl', 64);
      const consumer = peer(to, ['consume', name, 'q', '1,2,3,4', EACH, CAP, 'many']);
      expect(await consumer.line()).toBe('ready');
      const producers = [
        peer('node', ['produce', name, 'q', 1, EACH, CAP, 'many']),
        peer('node', ['produce', name, 'q', 2, EACH, CAP, 'many']),
        peer('py', ['produce', name, 'q', 3, EACH, CAP, 'many']),
        peer('py', ['produce', name, 'q', 4, EACH, CAP, 'many']),
      ];
      await go(seg, 4);
      for (const p of producers) expect(await p.line()).toBe('done');
      expect(await consumer.line()).toBe(`ok ${4 * EACH}`);
    });
  }

  it('reassembles in Python the messages a Node producer splits into fragments', async (ctx) => {
    const { name, seg } = segment('big');
    const ch = seg.channel('q', { capacity: CAP });
    // Channel layout v1 has no fragments: a message is at most one frame there.
    if (ch.maxMessageSize <= CAP / 2) ctx.skip();
    const consumer = peer('py', ['consume-big', name, 'q', 20, 3 * CAP + 123, CAP]);
    expect(await consumer.line()).toBe('ready');
    const producer = peer('node', ['produce-big', name, 'q', 20, 3 * CAP + 123, CAP]);
    expect(await producer.line()).toBe('done');
    expect(await consumer.line()).toBe('ok 20');
  });

  it('lets Node attach to a segment, mutex and channel that Python created', async () => {
    const name = `pyt${process.pid}-${++counter}-pycreated`;
    made.push(name);
    const producer = peer('py', ['create-and-send', name, 'q', 8, 100, 1 << 16]);
    expect(await producer.line()).toBe('sent');
    const consumer = peer('node', ['consume', name, 'q', '8', 100, 1 << 16, 'many']);
    expect(await consumer.line()).toBe('ready');
    expect(await consumer.line()).toBe('ok 100');
    const seg = Segment.open(name);
    try {
      seg.mutex('m').withLock(() => {});
    } finally {
      seg.close();
    }
  });

  it('reports PEER_DEAD to a Node consumer once a SIGKILLed Python producer is drained', async () => {
    const { name, seg } = segment('kill');
    seg.channel('q', { capacity: CAP, producers: 'many' });
    const consumer = peer('node', ['consume-until-error', name, 'q', 0, CAP, 'many']);
    expect(await consumer.line()).toBe('ready');
    const producer = peer('py', ['produce-then-die', name, 'q', 5, 300, CAP, 'many']);
    expect(await producer.line()).toBe('sent');
    expect((await producer.exited()).signal).toBe('SIGKILL');
    expect(await consumer.line()).toBe('PEER_DEAD 300');
  });

  it('skips the frame of a Python producer killed between claim and commit, then reports PEER_DEAD', async () => {
    const { name, seg } = segment('kill-mid-send');
    seg.channel('q', { capacity: CAP, producers: 'many' });
    const consumer = peer('node', ['consume-until-error', name, 'q', 0, CAP, 'many']);
    expect(await consumer.line()).toBe('ready');
    const producer = peer('py', ['produce-then-die', name, 'q', 6, 200, CAP, 'many', 'mid-send']);
    expect(await producer.line()).toBe('sent');
    expect((await producer.exited()).signal).toBe('SIGKILL');
    expect(await consumer.line()).toBe('PEER_DEAD 200');
  });

  it('keeps an exact count under a mutex shared by 2 Node and 2 Python processes', async () => {
    const { name, seg } = segment('mutex');
    seg.mutex('m');
    const counter = seg.bytes('counter', 8);
    seg.bytes('ctl', 64);
    const iters = 3000;
    const peers = [
      peer('node', ['mutex', name, iters]),
      peer('node', ['mutex', name, iters]),
      peer('py', ['mutex', name, iters]),
      peer('py', ['mutex', name, iters]),
    ];
    await go(seg, 4);
    for (const p of peers) expect(await p.line(60_000)).toBe('done');
    expect(new DataView(counter.buffer, counter.byteOffset, 8).getInt32(0, true)).toBe(4 * iters);
  });

  it('opens a segment holding every kind of object the Node side makes', async () => {
    const { name, seg } = segment('kinds');
    const fakeStruct = {
      byteLength: 24,
      alignment: 8,
      layoutHash: 0x1234,
      view: () => ({}),
      array: () => ({}),
    };
    seg.mutex('m');
    seg.condition('c');
    seg.semaphore('s', 2);
    seg.rwlock('rw');
    seg.barrier('b', 2);
    seg.latch('l', 1);
    seg.channel('q', { capacity: CAP }).send(new Uint8Array([1, 2, 3]));
    seg.channel('mp', { capacity: CAP, codec: 'msgpack', consumers: 'many' });
    seg.bytes('raw', 100);
    seg.struct('st', fakeStruct);
    seg.structArray('sa', fakeStruct, 3);
    const p = peer('py', ['inventory', name, 'q', CAP]);
    expect(await p.line()).toBe(
      'm:Mutex c:Condition s:Semaphore rw:RwLock b:Barrier l:Latch q:Channel mp:Channel raw:bytes region st:struct sa:struct',
    );
    expect(await p.line()).toBe(String.raw`b'\x01\x02\x03'`);
  });

  describe('a corrupted segment is CORRUPT in Python, never a crash', () => {
    /** Where the header, directory and channel "q" are, from the segment's own header. */
    function corruptAndRead(tag: string, damage: (f: { dir: number; ch: number }) => [number, number]) {
      return async () => {
        const { name, seg } = segment(tag);
        const ch = seg.channel('q', { capacity: CAP });
        for (let i = 0; i < 5; i++) ch.send(new Uint8Array(40).fill(i));
        const file = `/dev/shm/shmkit.${name}`;
        const fd = openSync(file, 'r+');
        try {
          const head = new Uint8Array(512);
          readSync(fd, head, 0, 512, 0);
          const dir = new DataView(head.buffer).getInt32(56, true);
          const chAt = seg.objects().find((o) => o.key === 'q')!.offset;
          const [at, value] = damage({ dir, ch: chAt });
          const word = new Uint8Array(4);
          new DataView(word.buffer).setInt32(0, value, true);
          writeSync(fd, word, 0, 4, at);
        } finally {
          closeSync(fd);
        }
        const p = peer('py', ['open-and-read', name, 'q', CAP]);
        const r = await p.exited();
        expect(r.signal).toBeNull();
        expect(r.stderr).toBe('');
        expect(r.stdout).toMatch(/CORRUPT/);
      };
    }
    it(
      'the size in the header',
      corruptAndRead('size', () => [8, 12345]),
    );
    it(
      'the directory count',
      corruptAndRead('count', () => [256, 99999]),
    );
    it(
      'an entry offset',
      corruptAndRead('entry', ({ dir }) => [dir + 4, 0x7fffffff]),
    );
    it(
      'an entry length',
      corruptAndRead('length', ({ dir }) => [dir + 8, 17]),
    );
    it(
      'the channel capacity',
      corruptAndRead('capacity', ({ ch }) => [ch + 8, 3]),
    );
    it(
      'the tail position',
      corruptAndRead('tail', ({ ch }) => [ch + 128, 0x7ffffff5]),
    );
    it(
      'a frame size',
      corruptAndRead('frame', ({ ch }) => [ch + 1024 + 4, 0x7ffffff1]),
    );
    it(
      'a frame length',
      corruptAndRead('len', ({ ch }) => [ch + 1024, 0x7fffff00]),
    );
  });

  for (const version of ['1', '2']) {
    it(`passes the Python package's own unit tests, creating channels of layout v${version}`, () => {
      const r = spawnSync(python!, ['-m', 'unittest', 'discover', '-s', 'python/tests', '-t', 'python'], {
        cwd: new URL('../../', import.meta.url).pathname,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, SHMKIT_PY_CHANNEL_VERSION: version },
      });
      if (r.status !== 0) console.log(r.stdout, r.stderr);
      expect(r.status).toBe(0);
    });
  }
});
