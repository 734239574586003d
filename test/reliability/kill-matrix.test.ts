// Deterministic crash windows: a child process SIGKILLs itself at a failpoint, the survivors
// recover. One round per (point, mode) here; the seeded matrix of >= 1,000 kills is a script
// (kill-matrix.ts). A point this build does not reach is reported, not counted as a kill.
import { FAILPOINTS } from '@shmkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { leftoverSegments, PREFIX } from './helpers.js';
import { everyPointAndMode, MODES, runRounds } from './kill-matrix.js';

afterAll(() => expect(leftoverSegments()).toEqual([]));

describe('failpoint kills', () => {
  it('recovers from a kill at every failpoint, in every mode', async () => {
    const res = await runRounds(everyPointAndMode(), `${PREFIX}km-`);
    expect(res.failures).toEqual([]);
    // The segment's own points are always reached; the channel's are reported when missing.
    expect(res.killed['mutex.after-lock']).toBe(MODES['mutex.after-lock'].length);
    expect(res.killed['directory.after-alloc']).toBe(MODES['directory.after-alloc'].length);
    for (const [point, n] of Object.entries(res.notReached))
      console.log(`failpoint ${point}: not reached in ${n} rounds`);
  }, 120_000);

  it('names a mode for every failpoint', () => {
    expect(Object.keys(MODES).sort()).toEqual([...FAILPOINTS].sort());
  });
});
