// Quick start: what does passing a message between two threads cost? A worker sends 64-byte
// messages and small objects to the main thread, once through a shmkit Channel (shared memory)
// and once with postMessage, and bounces a message back and forth for the round trip.
// Prints a table and writes reports/quickstart.json. Run it with `pnpm start`.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';

const N = 200_000;
const RTT_N = 20_000;
const channelUrl = import.meta.resolve('@shmkit/channel');

// The worker side, as plain JavaScript: it sends N messages (or answers pings) the way it is told.
const workerSource = `
const { parentPort, workerData: d } = require('node:worker_threads');
import(d.url).then(({ Channel }) => {
  const obj = (i) => ({ id: i, name: 'item-' + i, tags: ['a', 'b'], score: i / 2, ok: true });
  if (d.mode === 'channel-bytes' || d.mode === 'channel-object') {
    const ch = Channel.from(d.ch);
    const m = new Uint8Array(64);
    for (let i = 0; i < d.n; i++) {
      if (d.mode === 'channel-bytes') { m[0] = i & 255; ch.send(m); } else ch.send(obj(i));
    }
  } else if (d.mode === 'post-bytes' || d.mode === 'post-object') {
    const m = new Uint8Array(64);
    for (let i = 0; i < d.n; i++) {
      if (d.mode === 'post-bytes') { m[0] = i & 255; parentPort.postMessage(m); } else parentPort.postMessage(obj(i));
    }
  } else if (d.mode === 'channel-rtt') {
    const ping = Channel.from(d.ping), pong = Channel.from(d.pong);
    for (let i = 0; i < d.n; i++) pong.send(ping.recv());
  } else if (d.mode === 'post-rtt') {
    let left = d.n;
    parentPort.on('message', (m) => { parentPort.postMessage(m); if (--left === 0) parentPort.close(); });
    return;
  }
  parentPort.postMessage('done');
});`;

function start(data) {
  return new Worker(workerSource, { eval: true, workerData: { url: channelUrl, n: N, ...data } });
}

async function stream(kind, via) {
  const ch = new Channel({ codec: kind === 'bytes' ? 'bytes' : 'msgpack' });
  let count = 0;
  let checksum = 0;
  const t0 = performance.now();
  if (via === 'channel') {
    const w = start({ mode: `channel-${kind === 'bytes' ? 'bytes' : 'object'}`, ch: ch.handle });
    for (; count < N; count++) {
      const m = await ch.recvAsync({ timeout: 30_000 });
      checksum += kind === 'bytes' ? m[0] : m.id & 255;
    }
    await w.terminate();
  } else {
    const w = start({ mode: `post-${kind === 'bytes' ? 'bytes' : 'object'}` });
    await new Promise((resolve, reject) => {
      w.on('message', (m) => {
        if (m === 'done') return resolve();
        checksum += kind === 'bytes' ? m[0] : m.id & 255;
        count++;
      });
      w.on('error', reject);
    });
    await w.terminate();
  }
  const seconds = (performance.now() - t0) / 1000;
  let expected = 0;
  for (let i = 0; i < N; i++) expected += i & 255;
  return {
    test: `${kind} stream`,
    backend: via,
    messages: count,
    msgsPerSec: count / seconds,
    verified: count === N && checksum === expected,
  };
}

async function roundTrip(via) {
  const t0 = performance.now();
  let ok = true;
  if (via === 'channel') {
    const ping = new Channel({ capacity: 4096 });
    const pong = new Channel({ capacity: 4096 });
    const w = start({ mode: 'channel-rtt', ping: ping.handle, pong: pong.handle, n: RTT_N });
    const m = new Uint8Array(64);
    for (let i = 0; i < RTT_N; i++) {
      m[0] = i & 255;
      ping.send(m);
      ok &&= pong.recv({ timeout: 30_000 })[0] === (i & 255);
    }
    await w.terminate();
  } else {
    const w = start({ mode: 'post-rtt', n: RTT_N });
    const m = new Uint8Array(64);
    for (let i = 0; i < RTT_N; i++) {
      m[0] = i & 255;
      const reply = new Promise((resolve) => w.once('message', resolve));
      w.postMessage(m);
      ok &&= (await reply)[0] === (i & 255);
    }
    await w.terminate();
  }
  const us = ((performance.now() - t0) * 1000) / RTT_N;
  return { test: 'round trip', backend: via, messages: RTT_N, rttUs: us, verified: ok };
}

const results = [];
for (const kind of ['bytes', 'object']) {
  results.push(await stream(kind, 'channel'), await stream(kind, 'postMessage'));
}
results.push(await roundTrip('channel'), await roundTrip('postMessage'));

const rows = results.map((r) => ({
  test: r.test,
  backend: r.backend === 'channel' ? 'shmkit Channel' : 'postMessage',
  'msgs/s': r.msgsPerSec ? Math.round(r.msgsPerSec).toLocaleString('en-US') : '',
  'round trip µs': r.rttUs ? r.rttUs.toFixed(2) : '',
  verified: r.verified,
}));
console.table(rows);
const ratio = (test, key) => {
  const [a, b] = results.filter((r) => r.test === test);
  return key === 'rttUs' ? b[key] / a[key] : a[key] / b[key];
};
console.log(
  `shmkit Channel vs postMessage: ${ratio('bytes stream', 'msgsPerSec').toFixed(1)}x the throughput for 64-byte messages, ` +
    `${ratio('object stream', 'msgsPerSec').toFixed(1)}x for small objects, ${ratio('round trip', 'rttUs').toFixed(1)}x faster round trips.`,
);
mkdirSync('reports', { recursive: true });
const report = {
  schema: 'shmkit-quickstart/1',
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, kernel: os.release() },
  results,
};
writeFileSync('reports/quickstart.json', `${JSON.stringify(report, null, 2)}\n`);
console.log('report written to reports/quickstart.json');
if (!results.every((r) => r.verified)) process.exit(1);
