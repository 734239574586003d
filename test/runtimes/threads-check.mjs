// The thread packages (@shmkit/core, sync, channel, struct) checked in whatever runtime runs this file:
// Node, Bun or Deno (test/runtimes/runtimes.test.ts runs it under each). Plain JavaScript, worker
// threads through node:worker_threads (which all three provide), every message counted and
// checked, every wait bounded. Prints one line per check and ends with "N passed, N failed".
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Channel, RingBuffer } from '@shmkit/channel';
import { ShmkitError } from '@shmkit/core';
import { struct } from '@shmkit/struct';
import { Barrier, Condition, Latch, Mutex, RwLock, Semaphore } from '@shmkit/sync';

const T = { timeout: 20_000 };
const WORKERS = 3;

if (!isMainThread) {
  await workerMain(workerData);
} else {
  await main();
}

async function workerMain(d) {
  const counter = new Int32Array(d.counter);
  const m = Mutex.from(d.mutex);
  for (let i = 0; i < d.adds; i++)
    m.withLock(() => {
      counter[0] = counter[0] + 1;
    }, T);
  const rw = RwLock.from(d.rwlock);
  for (let i = 0; i < d.adds; i++)
    rw.write(() => {
      counter[1] = counter[1] + 1;
    }, T);
  const sem = Semaphore.from(d.sem);
  sem.acquire(T);
  counter[2] = Math.max(counter[2], Atomics.add(counter, 3, 1) + 1);
  Atomics.sub(counter, 3, 1);
  sem.release();
  const bytes = Channel.from(d.bytes);
  const obj = Channel.from(d.obj);
  const buf = new Uint8Array(32);
  // All bytes messages first, then all records: the main thread drains the channels in that order.
  for (let i = 0; i < d.messages; i++) {
    buf.fill(i & 255);
    new DataView(buf.buffer).setUint32(0, i, true);
    bytes.send(buf, T);
  }
  for (let i = 0; i < d.messages; i++) {
    await obj.sendAsync(
      { w: d.id, i, s: `m${i}`, big: BigInt(i) * 1_000_000_000_000n, when: new Date(i) },
      T,
    );
  }
  const rb = new RingBuffer(d.ring, Float32Array);
  if (d.id === 0) {
    let sent = 0;
    const chunk = new Float32Array(64);
    while (sent < d.samples) {
      const n = Math.min(64, d.samples - sent);
      for (let k = 0; k < n; k++) chunk[k] = sent + k;
      sent += rb.push(chunk, n);
      if (sent < d.samples && rb.full()) await new Promise((r) => setTimeout(r, 1));
    }
  }
  Barrier.from(d.barrier).wait(T);
  Latch.from(d.latch).countDown();
  const cond = Condition.from(d.cond);
  m.withLock(() => {
    counter[4]++;
    cond.notify();
  }, T);
  parentPort.postMessage('done');
}

async function main() {
  const results = [];
  const check = async (name, fn) => {
    try {
      await fn();
      results.push(true);
      console.log(`ok ${name}`);
    } catch (e) {
      results.push(false);
      console.log(`FAIL ${name}: ${e?.code ?? ''} ${e?.stack ?? e}`);
    }
  };
  const eq = (a, b, what) => {
    if (a !== b) throw new Error(`${what}: ${String(a)} !== ${String(b)}`);
  };

  await check('errors are ShmkitErrors with codes', () => {
    const m = new Mutex();
    let code;
    try {
      m.unlock();
    } catch (e) {
      code = e instanceof ShmkitError ? e.code : 'not a ShmkitError';
    }
    eq(code, 'NOT_OWNER', 'unlock of a free mutex');
    m.lock();
    try {
      m.lock();
    } catch (e) {
      code = e.code;
    }
    eq(code, 'DEADLOCK', 'second lock');
    m.unlock();
    try {
      new Channel().recv({ timeout: 5 });
    } catch (e) {
      code = e.code;
    }
    eq(code, 'TIMEOUT', 'recv on an empty channel');
    try {
      new Mutex().lock({ timeout: -1 });
    } catch (e) {
      code = e.code;
    }
    eq(code, 'INVALID_ARGUMENT', 'negative timeout');
  });

  await check('codecs round-trip in one thread', () => {
    const u = new Channel({ codec: 'utf8' });
    u.send('héllo ✓');
    eq(u.recv(T), 'héllo ✓', 'utf8');
    const p = new Channel({ codec: 'msgpack' });
    const v = { a: [1, 2], m: new Map([['k', 1n << 70n]]), s: new Set([1]), d: new Date(5), n: null };
    p.send(v);
    const r = p.recv(T);
    eq(r.m.get('k'), 1n << 70n, 'bigint in a map');
    eq(r.d.getTime(), 5, 'date');
    eq(r.s.has(1), true, 'set');
  });

  await check('struct views, atomics and a struct codec through a Channel', () => {
    const Tick = struct({ seq: 'u32', price: 'f64', sym: 'utf8:8', hits: 'i32' }, { name: 'Tick' });
    const ticks = Tick.alloc(2);
    const t = ticks.at(1);
    t.seq = 7;
    t.price = 1.25;
    t.sym = 'ACME';
    Tick.atomic.add(t, 'hits', 5);
    eq(Tick.atomic.load(t, 'hits'), 5, 'atomic add');
    const ch = new Channel({ codec: Tick.codec, capacity: 1 << 12 });
    ch.send({ seq: 3, price: 2.5, sym: 'XYZ', hits: 1 });
    const r = ch.recv(T);
    eq(`${r.seq} ${r.price} ${r.sym} ${r.hits}`, '3 2.5 XYZ 1', 'struct through a channel');
  });

  if (globalThis.Bun !== undefined || globalThis.Deno !== undefined) {
    await check('@shmkit/segment refuses to load with UNSUPPORTED (it needs Node)', async () => {
      const e = await import('@shmkit/segment').then(
        () => undefined,
        (err) => err,
      );
      eq(e instanceof ShmkitError && e.code, 'UNSUPPORTED', 'import error');
      if (!e.message.includes('runs only under Node.js')) throw new Error(e.message);
    });
  }

  const MESSAGES = 2_000;
  const ADDS = 2_000;
  const SAMPLES = 10_000;
  const counter = new Int32Array(new SharedArrayBuffer(32));
  const mutex = new Mutex();
  const rwlock = new RwLock();
  const sem = new Semaphore(2);
  const bytes = new Channel({ producers: 'many', capacity: 1 << 14 });
  const obj = new Channel({ codec: 'msgpack', producers: 'many', capacity: 1 << 14 });
  const ring = RingBuffer.getStorageForCapacity(1024, Float32Array);
  const barrier = new Barrier(WORKERS);
  const latch = new Latch(WORKERS);
  const cond = new Condition();
  const exits = [];
  const done = [];
  for (let id = 0; id < WORKERS; id++) {
    const w = new Worker(new URL(import.meta.url), {
      workerData: {
        id,
        adds: ADDS,
        messages: MESSAGES,
        samples: SAMPLES,
        counter: counter.buffer,
        mutex: mutex.handle,
        rwlock: rwlock.handle,
        sem: sem.handle,
        bytes: bytes.handle,
        obj: obj.handle,
        ring,
        barrier: barrier.handle,
        latch: latch.handle,
        cond: cond.handle,
      },
    });
    done.push(new Promise((resolve, reject) => w.once('message', resolve).once('error', reject)));
    exits.push(new Promise((resolve) => w.once('exit', resolve)));
  }

  await check('Channel (bytes, many producers) delivers every message exactly once', async () => {
    const seen = new Map();
    for (let n = 0; n < WORKERS * MESSAGES; n++) {
      const m = n % 2 === 0 ? bytes.recv(T) : await bytes.recvAsync(T);
      const i = new DataView(m.buffer, m.byteOffset).getUint32(0, true);
      if (m.length !== 32 || m[31] !== (i & 255)) throw new Error(`message ${i} damaged`);
      seen.set(i, (seen.get(i) ?? 0) + 1);
    }
    for (let i = 0; i < MESSAGES; i++) eq(seen.get(i), WORKERS, `copies of message ${i}`);
  });

  await check('Channel (msgpack) delivers every record once, in order per producer', async () => {
    const next = new Array(WORKERS).fill(0);
    for (let n = 0; n < WORKERS * MESSAGES; n++) {
      const r = await obj.recvAsync(T);
      eq(r.i, next[r.w], `worker ${r.w} order`);
      eq(r.s, `m${r.i}`, 'string field');
      eq(r.big, BigInt(r.i) * 1_000_000_000_000n, 'bigint field');
      eq(r.when.getTime(), r.i, 'date field');
      next[r.w]++;
    }
  });

  await check('RingBuffer streams every sample in order between threads', async () => {
    const rb = new RingBuffer(ring, Float32Array);
    const out = new Float32Array(256);
    let got = 0;
    const deadline = Date.now() + 20_000;
    while (got < SAMPLES) {
      const n = rb.pop(out);
      for (let k = 0; k < n; k++) eq(out[k], got + k, 'sample');
      got += n;
      if (n === 0) {
        if (Date.now() > deadline) throw new Error(`only ${got} samples`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  });

  await check('Mutex, RwLock, Semaphore, Barrier, Latch and Condition across workers', async () => {
    latch.wait(T);
    mutex.withLock(() => {
      cond.waitFor(mutex, () => counter[4] === WORKERS, T);
    }, T);
    await Promise.all(done);
    eq(counter[0], WORKERS * ADDS, 'mutex counter');
    eq(counter[1], WORKERS * ADDS, 'rwlock counter');
    if (counter[2] > 2) throw new Error(`semaphore let ${counter[2]} in`);
    eq(counter[4], WORKERS, 'condition count');
  });

  let timer;
  await Promise.race([
    Promise.all(exits),
    new Promise((r) => {
      timer = setTimeout(r, 20_000);
    }),
  ]);
  clearTimeout(timer);
  const passed = results.filter(Boolean).length;
  const runtime = globalThis.Bun
    ? `Bun ${Bun.version}`
    : globalThis.Deno
      ? `Deno ${Deno.version.deno}`
      : `Node ${process.version}`;
  console.log(`${runtime}: ${passed} passed, ${results.length - passed} failed`);
  process.exitCode = passed === results.length ? 0 : 1;
}
