/**
 * Where many/many time goes on this machine (issue 9, item 6): the same 64-byte stream through
 * each producers/consumers mode and thread count, plain send/recv against sendMany/recvMany.
 * On 2 cores this shows the per-message cost of the claim lock and the release marks, and what
 * batching saves; scaling past 2 cores needs a bigger machine (benchmarks/scaling.mjs). Beside
 * msg/s it reports CPU microseconds per message (all threads): with 8 threads on 2 shared cores,
 * msg/s mostly measures the scheduler, CPU per message what the protocol costs. Each worker
 * warms its channel code up before the clock starts (see contention-worker.ts).
 *
 * Run: `npx tsx benchmarks/contention.ts [--quick] [--save]`
 */
import { Worker } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { fmt, interleave, load, median, QUICK, writeResult } from './lib/harness.js';

const N = QUICK ? 100_000 : 400_000;
const REPS = 5;
const BOOT = new URL('./lib/ts-worker.mjs', import.meta.url);
const FIX = new URL('./lib/contention-worker.ts', import.meta.url).href;

/** CPU microseconds per message of the last run (every thread of this process). */
const cpuPerMsg: Record<string, number[]> = {};

async function run(p: number, c: number, many: boolean, batch: boolean): Promise<number> {
  const ch = new Channel({
    capacity: 1 << 20,
    producers: many ? 'many' : 'one',
    consumers: many ? 'many' : 'one',
  });
  const go = new Int32Array(new SharedArrayBuffer(8));
  const per = Math.floor(N / p);
  const start = (role: 'send' | 'recv') =>
    new Worker(BOOT, {
      workerData: { fixture: FIX, role, batch, many, n: per, ch: ch.handle, go: go.buffer },
    });
  const ps = Array.from({ length: p }, () => start('send'));
  const cs = Array.from({ length: c }, () => start('recv'));
  const done = (w: Worker) =>
    new Promise<number>((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
  const pd = ps.map(done);
  const cd = cs.map(done);
  while (Atomics.load(go, 1) < p + c) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  await Promise.all(pd);
  ch.close();
  const got = (await Promise.all(cd)).reduce((a, b) => a + b, 0);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (got !== per * p) throw new Error(`received ${got} of ${per * p}`);
  const key = `${p}x${c} ${many ? 'many' : 'one'} ${batch ? 'batch' : 'send'}`;
  const list = cpuPerMsg[key] ?? [];
  list.push((cpu.user + cpu.system) / (per * p));
  cpuPerMsg[key] = list;
  return (per * p) / (ms / 1000);
}

const shapes = {
  '1x1 one/one send': () => run(1, 1, false, false),
  '1x1 many/many send': () => run(1, 1, true, false),
  '2x2 many/many send': () => run(2, 2, true, false),
  '4x4 many/many send': () => run(4, 4, true, false),
  '1x1 one/one batch': () => run(1, 1, false, true),
  '2x2 many/many batch': () => run(2, 2, true, true),
  '4x4 many/many batch': () => run(4, 4, true, true),
};
const cpuKey: Record<keyof typeof shapes, string> = {
  '1x1 one/one send': '1x1 one send',
  '1x1 many/many send': '1x1 many send',
  '2x2 many/many send': '2x2 many send',
  '4x4 many/many send': '4x4 many send',
  '1x1 one/one batch': '1x1 one batch',
  '2x2 many/many batch': '2x2 many batch',
  '4x4 many/many batch': '4x4 many batch',
};
const r = await interleave(REPS, shapes);
const base = median(r['1x1 one/one send']);
const lines = [`64 B stream by shape, ${N} msgs, medians of ${REPS} interleaved reps (load ${load()})`];
const baseCpu = median(cpuPerMsg['1x1 one send']!);
for (const [k, v] of Object.entries(r)) {
  const cpu = median(cpuPerMsg[cpuKey[k as keyof typeof shapes]]!);
  lines.push(
    `  ${k.padEnd(22)} ${fmt(median(v)).padStart(12)} msg/s  ${(median(v) / base).toFixed(2)}x 1x1 one/one send   ${cpu.toFixed(2)} CPU us/msg (${(cpu / baseCpu).toFixed(2)}x)`,
  );
}
const text = lines.join('\n');
console.log(text);
console.log(`written to ${writeResult('contention.txt', `${text}\n`)}`);
