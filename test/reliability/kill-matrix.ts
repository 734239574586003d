/**
 * The failpoint kill matrix: rounds of (point, mode) drawn from a seeded generator; in each round
 * a child process runs into the failpoint (SHMKIT_FAILPOINT) and SIGKILLs itself there, and this
 * process checks that the survivors are fine:
 *   mutex.after-lock       the next lock() gets OWNER_DEAD (and the lock), consistent() repairs it
 *   directory.after-alloc  the same key is created again, listed once, usable; other objects intact
 *   channel.after-claim,   a live producer's messages all arrive exactly once, in order, intact,
 *   channel.before-commit  and nothing else does; a receiver never waits past its timeout
 * A round whose child finished without reaching its point counts as "not reached" (the point is
 * not on that path, or not in this build), never as a kill.
 *
 * CI runs a bounded subset (kill-matrix.test.ts); the full run is a script:
 *   npx tsx test/reliability/kill-matrix.ts --rounds 1000 [--seed 7] [--points mutex.after-lock,...]
 */
import { fileURLToPath } from 'node:url';
import type { Channel } from '@shmkit/channel';
import { FAILPOINTS, ShmkitError } from '@shmkit/core';
import { Segment } from '@shmkit/segment';
import { rng, spawnFailpointChild } from './kill-matrix-support.js';

export const MODES: Record<(typeof FAILPOINTS)[number], readonly string[]> = {
  'mutex.after-lock': ['lock', 'tryLock', 'lockAsync'],
  'directory.after-alloc': ['mutex', 'channel', 'bytes', 'semaphore'],
  'channel.after-claim': ['one', 'many'],
  'channel.before-commit': ['one', 'many'],
};

export interface MatrixResult {
  rounds: number;
  killed: Record<string, number>;
  notReached: Record<string, number>;
  failures: string[];
}

let counter = 0;

/** Runs `rounds` rounds drawn from `seed`; `prefix` names the segments (all unlinked afterwards). */
export function runMatrix(
  rounds: number,
  seed: number,
  prefix: string,
  points: readonly (typeof FAILPOINTS)[number][] = FAILPOINTS,
): Promise<MatrixResult> {
  const r = rng(seed);
  const plan: [string, string][] = [];
  for (let i = 0; i < rounds; i++) {
    const point = points[r.int(0, points.length - 1)]!;
    const modes = MODES[point];
    plan.push([point, modes[r.int(0, modes.length - 1)]!]);
  }
  return runRounds(plan, prefix, `seed ${seed}`);
}

/** Every (point, mode) once. */
export function everyPointAndMode(): [string, string][] {
  return FAILPOINTS.flatMap((p) => MODES[p].map((m): [string, string] => [p, m]));
}

/** Runs the planned rounds in order. */
export async function runRounds(
  plan: readonly [string, string][],
  prefix: string,
  tag = '',
): Promise<MatrixResult> {
  const result: MatrixResult = { rounds: plan.length, killed: {}, notReached: {}, failures: [] };
  for (const [i, [point, mode]] of plan.entries()) {
    const name = `${prefix}${++counter}`;
    const label = `round ${i} ${tag}: ${point} / ${mode}`;
    try {
      const outcome = await round(point, mode, name);
      const tally = outcome === 'killed' ? result.killed : result.notReached;
      tally[point] = (tally[point] ?? 0) + 1;
    } catch (e) {
      result.failures.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      Segment.unlink(name);
    }
  }
  return result;
}

async function round(point: string, mode: string, name: string): Promise<'killed' | 'not reached'> {
  const seg = Segment.create(name, { size: 1 << 20 });
  try {
    // What the survivors use, created before the child starts.
    const m = seg.mutex('m');
    const ch = point.startsWith('channel.')
      ? seg.channel<Uint8Array>('q', { capacity: 16 * 1024, producers: mode as 'one' | 'many' })
      : undefined;
    const before = seg.bytes('before', 64);
    before.fill(0x5a);
    const child = await spawnFailpointChild(point, mode, name);
    if (child.signal !== 'SIGKILL') {
      if (child.code === 0 && child.stdout.includes('survived')) return 'not reached';
      throw new Error(`child ended with ${child.signal ?? child.code}: ${child.stderr.slice(-500)}`);
    }
    if (point === 'mutex.after-lock') checkMutex(m);
    else if (point === 'directory.after-alloc') checkDirectory(seg, mode);
    else checkChannel(ch!, mode);
    if (!seg.bytes('before', 64).every((b) => b === 0x5a)) throw new Error('an unrelated object changed');
    return 'killed';
  } finally {
    seg.close();
  }
}

function expectCode(fn: () => unknown, code: string, what: string): void {
  try {
    fn();
  } catch (e) {
    if (ShmkitError.is(e, code as never)) return;
    throw new Error(`${what}: expected ${code}, got ${String(e)}`);
  }
  throw new Error(`${what}: expected ${code}, got no error`);
}

function checkMutex(m: ReturnType<Segment['mutex']>): void {
  expectCode(() => m.lock({ timeout: 10_000 }), 'OWNER_DEAD', 'lock() after the holder died');
  if (!m.heldByCurrentThread) throw new Error('OWNER_DEAD without the lock');
  m.consistent();
  m.unlock();
  m.lock({ timeout: 1000 });
  m.unlock();
}

function checkDirectory(seg: Segment, mode: string): void {
  if (mode === 'mutex') {
    const m = seg.mutex('fresh');
    m.lock({ timeout: 5000 });
    m.unlock();
  } else if (mode === 'channel') {
    const ch = seg.channel('fresh', { capacity: 4096 });
    ch.send(new Uint8Array([1, 2, 3]));
    const got = ch.recv({ timeout: 1000 });
    if (got.length !== 3 || got[2] !== 3) throw new Error('the re-created channel lost a message');
  } else if (mode === 'bytes') {
    const b = seg.bytes('fresh', 1000);
    if (!b.every((x) => x === 0)) throw new Error('re-created bytes are not zeroed');
  } else {
    const s = seg.semaphore('fresh', 2);
    if (!s.tryAcquire(2)) throw new Error('the re-created semaphore lost its permits');
  }
  const fresh = seg.objects().filter((o) => o.key === 'fresh');
  if (fresh.length !== 1) throw new Error(`'fresh' listed ${fresh.length} times`);
}

/** Producer 0 (this process): messages [0, seq, length] then bytes derived from them. */
function message(seq: number): Uint8Array {
  const len = 12 + (((seq * 40503) >>> 0) % 200);
  const m = new Uint8Array(len);
  const v = new DataView(m.buffer);
  v.setUint32(0, 0, true);
  v.setUint32(4, seq, true);
  v.setUint32(8, len, true);
  for (let i = 12; i < len; i++) m[i] = (seq * 7 + i) & 0xff;
  return m;
}

function checkChannel(ch: Channel<Uint8Array>, mode: string): void {
  const LIVE = 200;
  const next = [0, 0];
  const take = (m: Uint8Array): void => {
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const id = v.getUint32(0, true);
    const seq = v.getUint32(4, true);
    if (id > 1 || m.length !== v.getUint32(8, true)) throw new Error('a torn message');
    if (seq !== next[id])
      throw new Error(`producer ${id}: got ${seq}, expected ${next[id]} (lost or duplicate)`);
    for (let i = 12; i < m.length; i++) {
      if (m[i] !== ((id === 0 ? 0 : 31) + seq * 7 + i) % 256) throw new Error('a corrupted payload');
    }
    next[id]!++;
  };
  if (mode === 'many') {
    // A live producer on the channel the dead one claimed in: every message, exactly once.
    for (let seq = 0; seq < LIVE; seq++) {
      ch.send(message(seq), { timeout: 10_000 });
      take(ch.recv({ timeout: 10_000 }));
    }
    if (next[0] !== LIVE) throw new Error(`the live producer's messages: ${next[0]} of ${LIVE}`);
    const extra = ch.tryRecv();
    if (extra !== undefined) take(extra);
    return;
  }
  // One producer, dead: the receiver gets what it committed, then PEER_DEAD, within the timeout.
  for (;;) {
    let m: Uint8Array;
    try {
      m = ch.recv({ timeout: 10_000 });
    } catch (e) {
      if (ShmkitError.is(e, 'PEER_DEAD')) return;
      throw new Error(`recv after the only producer died: ${String(e)}`);
    }
    take(m);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (flag: string, fallback: number): number => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const rounds = arg('--rounds', 1000);
  const seed = arg('--seed', Date.now() % 100000);
  const started = performance.now();
  const p = process.argv.indexOf('--points');
  const points = (p > 0 ? process.argv[p + 1]!.split(',') : [...FAILPOINTS]) as (typeof FAILPOINTS)[number][];
  for (const name of points) if (!(name in MODES)) throw new Error(`unknown failpoint ${name}`);
  const res = await runMatrix(rounds, seed, `km${process.pid}-`, points);
  const secs = ((performance.now() - started) / 1000).toFixed(0);
  const kills = Object.values(res.killed).reduce((a, b) => a + b, 0);
  console.log(`kill matrix: ${rounds} rounds, seed ${seed}, ${secs} s, ${kills} kills`);
  for (const p of FAILPOINTS) {
    console.log(`  ${p.padEnd(24)} killed ${res.killed[p] ?? 0}, never reached ${res.notReached[p] ?? 0}`);
  }
  for (const f of res.failures) console.log(`  FAIL ${f}`);
  console.log(`failures: ${res.failures.length}`);
  process.exitCode = res.failures.length === 0 ? 0 : 1;
}
