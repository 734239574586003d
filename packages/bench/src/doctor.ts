/**
 * `shmkit doctor`: can shmkit work here? Node version, the native addon, /dev/shm, the futex,
 * named segments. Every check says what it found and, when it fails, what to do.
 */
import { accessSync, constants, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSegment, loadSegmentModule } from './segment-api.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

const MIB = 1 << 20;

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / MIB)} MiB`;
}

interface FutexLike {
  wait(i32: Int32Array, index: number, expected: number, timeout: number): string;
  waitAsync(i32: Int32Array, index: number, expected: number, timeout: number): Promise<string>;
  notify(i32: Int32Array, index: number, count: number): number;
}

interface MappingApi {
  createMappedFile(file: string, o: { size: number }): { buffer: SharedArrayBuffer | null };
  unlinkMappedFile(file: string): boolean;
  SHM_DIR: string;
  futexWaiter: FutexLike;
  futexWaitvInUse?: () => boolean;
  loadNative?: unknown;
}

/** Runs every check; never throws. */
export async function doctor(): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, detail: string): void => {
    checks.push({ name, status, detail });
  };

  const major = Number(process.versions.node.split('.')[0]);
  add(
    'node',
    major >= 20 ? 'ok' : 'fail',
    `Node ${process.version} (ABI ${process.versions.modules})${major >= 20 ? '' : ': shmkit needs Node >= 20'}`,
  );
  const cpus = os.cpus();
  add(
    'machine',
    'ok',
    `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${os.type()} ${os.release()} ${os.arch()}`,
  );
  add(
    'platform',
    process.platform === 'linux' ? 'ok' : 'warn',
    process.platform === 'linux'
      ? 'Linux: threads and processes supported'
      : `${process.platform}: worker-thread primitives work; process segments need Linux`,
  );

  const mod = await loadSegmentModule();
  if (!mod.ok) add('native addon', 'fail', mod.reason);
  else {
    const m = mod.value as unknown as MappingApi;
    const waitv = typeof m.futexWaitvInUse === 'function' ? m.futexWaitvInUse() : undefined;
    add(
      'native addon',
      'ok',
      `@shmkit/segment's addon loads (ABI ${process.versions.modules}${waitv === undefined ? '' : `, async waits via ${waitv ? 'futex_waitv' : 'FUTEX_WAIT_BITSET'}`})`,
    );
  }

  const shm = '/dev/shm';
  try {
    const s = statfsSync(shm);
    const size = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    let writable = true;
    try {
      accessSync(shm, constants.W_OK);
    } catch {
      writable = false;
    }
    const status: CheckStatus = !writable ? 'fail' : free < 64 * MIB ? 'warn' : 'ok';
    add(
      '/dev/shm',
      status,
      `${gib(size)} size, ${gib(free)} free${writable ? '' : ', not writable by this user'}${free < 64 * MIB ? ': segments need room here (tmpfs is sized to half the RAM by default; remount with size=...)' : ''}`,
    );
  } catch (e) {
    add(
      '/dev/shm',
      process.platform === 'linux' ? 'fail' : 'warn',
      `cannot read ${shm}: ${(e as Error).message}`,
    );
  }

  if (mod.ok) add('futex', ...(await futexCheck(mod.value as unknown as MappingApi)));
  else add('futex', 'fail', 'not tested: the native addon does not load');

  const seg = await loadSegment();
  if (!seg.ok) add('segments', mod.ok ? 'warn' : 'fail', `named segments unavailable: ${seg.reason}`);
  else {
    try {
      const list = seg.value.list();
      const stale = list.filter((s) => s.creatorAlive === false).length;
      add(
        'segments',
        'ok',
        `Segment available; ${list.length} shmkit segment${list.length === 1 ? '' : 's'} in /dev/shm${stale ? ` (${stale} whose creator is gone: see \`shmkit segments\`)` : ''}`,
      );
    } catch (e) {
      add('segments', 'warn', `Segment.list() failed: ${(e as Error).message}`);
    }
  }
  return checks;
}

/**
 * Maps a scratch file in /dev/shm and checks the futex on it: a wait that must find the value
 * changed, a wait that must time out, and an async wait (on the addon's waiter thread) woken by
 * notify from this thread.
 */
async function futexCheck(m: MappingApi): Promise<[CheckStatus, string]> {
  const file = path.join(m.SHM_DIR ?? '/dev/shm', `shmkit-doctor-${process.pid}`);
  try {
    const f = m.createMappedFile(file, { size: 4096 });
    if (f.buffer === null) return ['fail', 'the scratch mapping is empty'];
    const i32 = new Int32Array(f.buffer);
    const w = m.futexWaiter;
    const notEqual = w.wait(i32, 0, 1, 0);
    const timedOut = w.wait(i32, 0, 0, 5);
    const woken = w.waitAsync(i32, 0, 0, 2000);
    Atomics.store(i32, 0, 1);
    w.notify(i32, 0, 1);
    const asyncResult = await woken;
    const good =
      notEqual === 'not-equal' &&
      timedOut === 'timed-out' &&
      (asyncResult === 'ok' || asyncResult === 'not-equal');
    return good
      ? ['ok', 'FUTEX_WAIT/FUTEX_WAKE on mapped memory: wait, timeout and cross-thread wake work']
      : ['fail', `unexpected results: ${notEqual}, ${timedOut}, ${asyncResult}`];
  } catch (e) {
    return ['fail', `futex check failed: ${(e as Error).message}`];
  } finally {
    try {
      m.unlinkMappedFile(file);
    } catch {
      // not created
    }
  }
}
