import { TOKEN_MASK } from '@shmkit/core';
import {
  futexWaiter,
  isProcessAlive,
  isZombie,
  ProcessIdentity,
  processStartTime,
  readProcessStat,
} from '@shmkit/segment';
import { describe, expect, it } from 'vitest';
import { cleanUpTestFiles, startChild, testFile } from './helpers.js';

const TABLE_AT = 1024;
const TABLE_BYTES = ProcessIdentity.bytesFor(64);

cleanUpTestFiles();

function tableFile(tag: string) {
  const f = testFile(tag, TABLE_AT + TABLE_BYTES);
  const table = new Int32Array(f.buffer!, TABLE_AT, TABLE_BYTES / 4);
  return { f, w: new Int32Array(f.buffer!), table, id: new ProcessIdentity(table) };
}

describe('/proc helpers', () => {
  it('reads the state and start time of a process', () => {
    const s = readProcessStat(process.pid)!;
    expect(s.state).toMatch(/^[RS]$/);
    expect(s.startTime).toBeGreaterThan(0);
    expect(processStartTime(process.pid)).toBe(s.startTime);
    expect(isProcessAlive(process.pid, s.startTime)).toBe(true);
    expect(isProcessAlive(process.pid, s.startTime + 1)).toBe(false);
    expect(readProcessStat(0)).toBeUndefined();
    expect(readProcessStat(4194305)).toBeUndefined();
  });
});

describe('ProcessIdentity', () => {
  it('gives this thread one stable token, shared by every identity over the same table', () => {
    const { table, id } = tableFile('self');
    const t = id.self();
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThanOrEqual(TOKEN_MASK);
    expect(id.self()).toBe(t);
    expect(new ProcessIdentity(table).self()).toBe(t);
    expect(id.isAlive(t)).toBe(true);
    expect(id.owner(t)).toMatchObject({ pid: process.pid, threadId: 0 });
  });

  it('gives distinct tokens to the threads of several processes', async () => {
    const { f, id } = tableFile('tokens');
    const children = [0, 1, 2].map(() => startChild('child.mjs', ['tokens', f.path, String(TABLE_BYTES)]));
    const tokens = [id.self()];
    for (const c of children) tokens.push(...(JSON.parse(await c.line()) as number[]));
    expect(tokens).toHaveLength(10);
    expect(new Set(tokens).size).toBe(10);
    for (const t of tokens) expect(t > 0 && t <= TOKEN_MASK).toBe(true);
  });

  it('says a token is dead once its process exited and was reaped', async () => {
    const { f, w, id } = tableFile('exit');
    const c = startChild('child.mjs', ['claim-then', f.path, 'exit', String(TABLE_BYTES)]);
    expect((await c.exited()).code).toBe(0);
    const token = Atomics.load(w, 2);
    expect(token).toBeGreaterThan(0);
    expect(id.isAlive(token)).toBe(false);
  });

  it('says a token is dead while its SIGKILLed process is an unreaped zombie', () => {
    const { f, w, id } = tableFile('zombie');
    const c = startChild('child.mjs', ['claim-then', f.path, 'kill', String(TABLE_BYTES)]);
    // Block this thread, so Node cannot reap the child: it stays a zombie meanwhile.
    const end = performance.now() + 20_000;
    while (Atomics.load(w, 1) === 0 && performance.now() < end) futexWaiter.wait(w, 1, 0, 100);
    const token = Atomics.load(w, 2);
    expect(token).toBeGreaterThan(0);
    while (!isZombie(c.proc.pid!) && performance.now() < end) futexWaiter.wait(w, 3, 0, 1);
    expect(readProcessStat(c.proc.pid!)?.state).toBe('Z');
    expect(id.isAlive(token)).toBe(false);
  });

  it('says a token is dead when its pid now belongs to a process with another start time', () => {
    const { table, id } = tableFile('reuse');
    // Forge slot 3 as LIVE (generation 1) for this very pid, but with another start time.
    const slot = 3 * 8;
    Atomics.store(table, slot + 1, process.pid);
    Atomics.store(table, slot + 2, processStartTime(process.pid)! + 1);
    Atomics.store(table, slot + 0, 1 * 2 + 1);
    const forged = (1 << 12) | 4;
    expect(id.owner(forged)?.pid).toBe(process.pid);
    expect(id.isAlive(forged)).toBe(false);
    // A token of an older generation of that slot names nobody.
    expect(id.isAlive(4)).toBe(false);
  });

  it('treats a released slot as dead and reuses it under a new generation', () => {
    const { table } = tableFile('release');
    const a = new ProcessIdentity(table);
    const t1 = a.self();
    expect(a.release()).toBe(true);
    expect(a.isAlive(t1)).toBe(false);
    const t2 = a.self();
    expect(t2 & 0xfff).toBe(t1 & 0xfff);
    expect(t2).not.toBe(t1);
    expect(a.isAlive(t2)).toBe(true);
  });

  it('reclaims the slots of dead processes when the table is full', async () => {
    const f = testFile('full', TABLE_AT + ProcessIdentity.bytesFor(2));
    const table = new Int32Array(f.buffer!, TABLE_AT, ProcessIdentity.bytesFor(2) / 4);
    const w = new Int32Array(f.buffer!);
    for (let i = 0; i < 2; i++) {
      const c = startChild('child.mjs', ['claim-then', f.path, 'exit', String(ProcessIdentity.bytesFor(2))]);
      expect((await c.exited()).code).toBe(0);
    }
    const dead = Atomics.load(w, 2);
    const id = new ProcessIdentity(table);
    const t = id.self(); // both slots held by dead processes: reclaimed on the way
    expect(id.isAlive(t)).toBe(true);
    expect(id.isAlive(dead)).toBe(false);
  });

  it('reports a table full of live threads as TOO_LARGE', () => {
    const f = testFile('tiny', ProcessIdentity.bytesFor(1));
    const table = new Int32Array(f.buffer!);
    // Occupy the only slot with a live process that is not this thread (pid 1, init).
    Atomics.store(table, 1, 1);
    Atomics.store(table, 2, processStartTime(1) ?? 0);
    Atomics.store(table, 0, 3);
    expect(() => new ProcessIdentity(table).self()).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });
});

describe('ProcessIdentity token generations', () => {
  const GEN_MASK = 0x1ffff;
  const heapTable = (slots: number) => new Int32Array(new SharedArrayBuffer(ProcessIdentity.bytesFor(slots)));

  it('never hands out a token twice: a slot whose generations are used up is retired', () => {
    const table = heapTable(1);
    const seen = new Set<number>();
    for (let i = 0; i < GEN_MASK; i++) {
      const id = new ProcessIdentity(table);
      const t = id.self();
      expect(seen.has(t)).toBe(false);
      seen.add(t);
      expect(id.release()).toBe(true);
    }
    expect(seen.size).toBe(GEN_MASK);
    // The next claim would wrap the generation back to a token some lock word may still hold.
    const last = new ProcessIdentity(table);
    expect(() => last.self()).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: expect.stringMatching(/retired/) }),
    );
    expect(Atomics.load(table, 1)).toBe(-1);
    expect(last.reclaim()).toBe(0);
    expect(Atomics.load(table, 1)).toBe(-1);
  });

  it('claims the next slot, and keeps a stale token dead, when a slot is at its last generation', () => {
    const table = heapTable(2);
    // Slot 0: its last generation was handed out to a thread that is gone (released, pid 0).
    Atomics.store(table, 0, GEN_MASK * 2);
    const stale = (GEN_MASK << 12) | 1;
    const id = new ProcessIdentity(table);
    const t = id.self();
    expect(t & 0xfff).toBe(2); // slot 1
    expect(t).not.toBe(stale);
    expect(Atomics.load(table, 1)).toBe(-1); // slot 0 retired
    expect(id.isAlive(stale)).toBe(false);
    expect(id.owner(stale)).toBeUndefined();
    id.release();
    expect(new ProcessIdentity(table).self() & 0xfff).toBe(2);
  });
});
