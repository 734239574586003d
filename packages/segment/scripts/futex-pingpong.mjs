// Round trip of a 32-bit word between two processes through the native futex waiter.
//
//   node packages/segment/scripts/futex-pingpong.mjs [rounds=20000] [spins=0]
//
// The parent stores ping = i and wakes; the child, asleep in futexWaiter.wait, stores pong = i and
// wakes; the parent, asleep too, measures the time from its store to seeing pong. spins > 0 loads
// the word that many times before sleeping (spin-then-futex). Needs the built package (tsc -b).
import { spawn } from 'node:child_process';
import { createMappedFile, futexWaiter, openMappedFile, unlinkMappedFile } from '@shmkit/segment';

const PING = 0;
const PONG = 1;
const [role, file, roundsArg, spinsArg] = process.argv.slice(2);

function await_(w, index, value, spins) {
  for (let s = 0; s < spins; s++) if (Atomics.load(w, index) === value) return;
  while (Atomics.load(w, index) !== value) {
    if (futexWaiter.wait(w, index, value - 1, 5000) === 'timed-out' && Atomics.load(w, index) !== value) {
      throw new Error(`no answer for round ${value}`);
    }
  }
}

if (role === 'child') {
  const w = new Int32Array(openMappedFile(file).buffer);
  const rounds = Number(roundsArg);
  const spins = Number(spinsArg);
  Atomics.store(w, 2, 1);
  futexWaiter.notify(w, 2, 1);
  for (let i = 1; i <= rounds; i++) {
    await_(w, PING, i, spins);
    Atomics.store(w, PONG, i);
    futexWaiter.notify(w, PONG, 1);
  }
} else {
  const rounds = Number(process.argv[2] ?? 20000);
  const spins = Number(process.argv[3] ?? 0);
  const warmup = 2000;
  const total = rounds + warmup;
  const path = `/dev/shm/shmkit-pingpong-${process.pid}`;
  const f = createMappedFile(path, { size: 4096 });
  try {
    const w = new Int32Array(f.buffer);
    const child = spawn(
      process.execPath,
      [new URL(import.meta.url).pathname, 'child', path, String(total), String(spins)],
      {
        stdio: 'inherit',
      },
    );
    while (Atomics.load(w, 2) === 0) futexWaiter.wait(w, 2, 0, 5000);
    const samples = new Float64Array(rounds);
    for (let i = 1; i <= total; i++) {
      const t0 = process.hrtime.bigint();
      Atomics.store(w, PING, i);
      futexWaiter.notify(w, PING, 1);
      await_(w, PONG, i, spins);
      if (i > warmup) samples[i - warmup - 1] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    await new Promise((r) => child.once('exit', r));
    samples.sort();
    const p = (q) => samples[Math.min(rounds - 1, Math.floor(q * rounds))].toFixed(2);
    console.log(
      `futex ping-pong between 2 processes, ${rounds} round trips, spins=${spins}: ` +
        `p50 ${p(0.5)} µs, p90 ${p(0.9)} µs, p99 ${p(0.99)} µs`,
    );
  } finally {
    unlinkMappedFile(path);
  }
}
