/**
 * A peer truncating a live segment's file must not kill the processes that map it: the addon's
 * SIGBUS guard maps zero pages over the lost range, and the segment's operations end in CORRUPT.
 */
import { truncateSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cleanUpTestSegments, segmentName, startChild } from './helpers.js';

cleanUpTestSegments();

describe('Segment truncated by another process', () => {
  for (const [where, length] of [
    ['head', 0],
    ['tail', 512 * 1024],
  ] as const) {
    it(`keeps the victim alive and reports CORRUPT (file cut to ${length} bytes, channel at the ${where})`, async () => {
      const name = segmentName(`trunc-${where}`);
      const victim = startChild('truncate-victim.mjs', [name, where]);
      const ready = await victim.line();
      expect(ready).toMatch(/^ready /);
      truncateSync(ready.slice('ready '.length), length);
      const r = await victim.exited(30_000);
      expect(r.signal, r.stderr).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(out.intact).toBe(false);
      // The first message still sits in what this process saw; waiting for more is CORRUPT.
      expect(out.recv).toBe('CORRUPT');
      expect(out.mutex).toBe('CORRUPT');
      expect(out.bytes).toBe('CORRUPT');
      expect(out.flush).toBe('CORRUPT');
      expect(out.close).toBe('ok');
    });
  }
});
