/**
 * Process liveness from /proc/PID/stat (Linux): whether a process still exists, is not a zombie,
 * and is the same process as before (a pid is reused once its process is reaped, so a pid alone
 * does not name a process; pid + start time does).
 */
import { readFileSync } from 'node:fs';
import { ShmkitError } from '@shmkit/core';

/** What shmkit reads from /proc/PID/stat. */
export interface ProcessStat {
  readonly pid: number;
  /** Field 3: R running, S sleeping, D disk sleep, Z zombie, X dead, T stopped, ... */
  readonly state: string;
  /** Field 22: when the process started, in clock ticks since boot. */
  readonly startTime: number;
}

/** The largest pid Linux can hand out (pid_max is at most 2^22). */
const PID_MAX = 4194304;

/** /proc/PID/stat of `pid`, or undefined when there is no such process (or it is hidden). */
export function readProcessStat(pid: number): ProcessStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0 || pid > PID_MAX) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined; // ENOENT: gone (or hidden by hidepid, which we cannot tell apart)
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]); // field 22; fields[0] is field 3
  if (state === undefined || !Number.isSafeInteger(startTime)) return undefined;
  return { pid, state, startTime };
}

/** The start time of `pid` (clock ticks since boot), or undefined when it does not exist. */
export function processStartTime(pid: number): number | undefined {
  return readProcessStat(pid)?.startTime;
}

/** Whether `pid` is a zombie: dead, but not yet reaped by its parent. */
export function isZombie(pid: number): boolean {
  const s = readProcessStat(pid)?.state;
  return s === 'Z' || s === 'X';
}

/**
 * Whether the process `pid` is running: it exists, is not a zombie (a SIGKILLed child stays one
 * until its parent reaps it, and that parent may be the very process asking), and, when
 * `startTime` is given, started then (otherwise the pid now names another process).
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  const s = readProcessStat(pid);
  if (s === undefined || s.state === 'Z' || s.state === 'X') return false;
  return startTime === undefined || s.startTime === startTime;
}

let ownStartTime: number | undefined;

/** This process's start time (read once). */
export function selfStartTime(): number {
  if (ownStartTime === undefined) {
    const t = processStartTime(process.pid);
    if (t === undefined) {
      throw new ShmkitError(
        'UNSUPPORTED',
        `cannot read /proc/${process.pid}/stat: process liveness needs /proc`,
      );
    }
    ownStartTime = t;
  }
  return ownStartTime;
}
