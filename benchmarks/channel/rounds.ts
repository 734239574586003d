/**
 * How the main thread of benchmarks/channel.ts runs one round against its worker: the worker gets
 * the job, says READY and spins on GO; the clock runs on the main thread from GO to the last
 * message verified. Throughput rounds also take the CPU time of the whole process (both threads).
 * Every wait is bounded: a bug fails the run with a message, not a hang.
 */
import { ACK, DONE, GO, newControl, READY, throwIfFailed, waitFor } from '../lib/control.js';
import type { BenchWorker } from '../lib/worker.js';
import { verifySum } from './messages.js';
import { type Job, WAIT_MS } from './protocol.js';

/** One timed run: wall ms from GO to the last message verified, process CPU ms in that time. */
export interface Run {
  n: number;
  ms: number;
  cpuMs: number;
}

type WithoutCtl<J> = J extends unknown ? Omit<J, 'ctl'> : never;
/** A job without its control block (start / timedPost add a fresh one). */
export type JobSpec = WithoutCtl<Job>;

/** Blocks until the worker is ready for the round of `ctl`, bounded. */
export function waitReady(ctl: Int32Array): void {
  waitFor(ctl, READY, 1, WAIT_MS, 'get ready');
}

/** Blocks until the worker has finished the round of `ctl`, bounded; throws if it failed. */
export function waitDone(ctl: Int32Array): void {
  waitFor(ctl, DONE, 1, WAIT_MS, 'finish its job');
  throwIfFailed(ctl);
}

/** Posts `job` to the worker with a fresh control block; returns the block. */
export function start(wk: BenchWorker, job: JobSpec): Int32Array {
  const ctl = newControl();
  wk.post({ ...job, ctl });
  return ctl;
}

/**
 * Starts the round of `ctl` (posted already) once the worker is ready; `consume` then receives
 * everything on the main thread. Waits for the worker's end; returns the run's times.
 */
export function timedBlocking(ctl: Int32Array, n: number, consume: () => void): Run {
  waitReady(ctl);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // release: the worker spins on GO.
  Atomics.store(ctl, GO, 1);
  try {
    consume();
  } catch (e) {
    throwIfFailed(ctl); // a timeout here usually means the worker died: say why
    throw e;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  waitDone(ctl);
  return { n, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * The postMessage form: `onData(m, c)` gets the c-th data message; the run ends with the n-th.
 * Acknowledges every message in ACK (the worker's window). Waits for the worker's end.
 */
export async function timedPost<M>(
  wk: BenchWorker,
  job: JobSpec,
  n: number,
  onData: (m: M, c: number) => void,
): Promise<Run> {
  let c = 0;
  let t0 = 0;
  let ms = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let cpu: NodeJS.CpuUsage | undefined;
  const ctl = newControl();
  const got = wk.listen(
    (m) => {
      onData(m as M, c);
      c++;
      Atomics.store(ctl, ACK, c);
      if (c < n) return false;
      ms = performance.now() - t0;
      cpu = process.cpuUsage(cpu0);
      return true;
    },
    2 * WAIT_MS,
    () => `postMessage round: ${c} of ${n} messages`,
  );
  try {
    wk.post({ ...job, ctl });
    waitReady(ctl);
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    Atomics.store(ctl, GO, 1);
  } catch (e) {
    got.catch(() => {});
    throw e;
  }
  await got;
  waitDone(ctl);
  return { n, ms, cpuMs: (cpu!.user + cpu!.system) / 1000 };
}

/**
 * How one backend receives a throughput round: `consume` runs on the main thread (blocking) and
 * returns the checksum; or, for postMessage, `onMessage` checks the c-th message and returns its
 * part of the checksum.
 */
export type Plan<M> =
  | { job: JobSpec; consume: () => number }
  | { job: JobSpec; onMessage: (m: M, c: number) => number };

/** Runs one throughput round of `n` messages as `plan` says; checks the checksum against `expected`. */
export async function runRound<M>(wk: BenchWorker, n: number, plan: Plan<M>, what: string, expected: number) {
  let sum = 0;
  let run: Run;
  if ('consume' in plan) {
    run = timedBlocking(start(wk, plan.job), n, () => {
      sum = plan.consume();
    });
  } else {
    run = await timedPost<M>(wk, plan.job, n, (m, c) => {
      sum += plan.onMessage(m, c);
    });
  }
  verifySum(what, sum, expected);
  return run;
}
