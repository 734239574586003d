// A peer shrinking a live segment's file at random moments never kills the victim (seeded; the
// 200-round run is the script truncate-storm.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { leftoverSegments, PREFIX, seedFrom } from './helpers.js';
import { runStorm } from './truncate-storm.js';

afterAll(() => expect(leftoverSegments()).toEqual([]));

describe('truncate storm', () => {
  it('keeps every victim alive, with only ShmkitErrors, through 8 random truncations', async () => {
    const res = await runStorm(8, seedFrom(21), `${PREFIX}ts-`);
    expect(res.failures).toEqual([]);
    expect(res.killedBySignal).toBe(0);
  }, 120_000);
});
