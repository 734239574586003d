// A resource soak: child processes (each with a worker thread doing the same) create, use, close
// and unlink segments in a loop while
// the parent keeps opening them (and the hub segment) and receiving. Afterwards the parent's file
// descriptors and shmkit mappings are back where they started, and /dev/shm holds none of ours.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Channel } from '@shmkit/channel';
import { ShmkitError } from '@shmkit/core';
import { Segment } from '@shmkit/segment';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fdCount,
  killChildren,
  leftoverSegments,
  mappingCount,
  PREFIX,
  removeSegments,
  segmentName,
  startChild,
} from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

afterEach(() => {
  killChildren();
  removeSegments();
  for (const f of leftoverSegments()) Segment.unlink(f.slice('shmkit.'.length));
});

const CHILDREN = 3;
/** 20 s in CI; `pnpm soak` runs it for 10 minutes (SHMKIT_SOAK_MS=600000). */
const SOAK_MS = Number(process.env.SHMKIT_SOAK_MS ?? 20_000);
/**
 * Resident memory a child may gain over the soak, measured once every mapping is unmapped: room
 * for the worker thread's isolate and the heaps' steady size, far below what a leak of the
 * thousands of segments each child makes would add.
 */
const RSS_SLACK = 96 << 20;

describe('resource soak', () => {
  it(
    `returns every descriptor and mapping after ${CHILDREN} processes churn segments for ${SOAK_MS} ms`,
    async () => {
      const mine = `shmkit.${PREFIX}`;
      const fdStart = fdCount();
      const mapsStart = mappingCount(mine);
      const hubName = segmentName('hub');
      let opened = 0;
      let gone = 0;
      const names = new Set<string>();
      const results = await (async () => {
        const hub = Segment.create(hubName, { size: 1 << 17 });
        const rx = hub.channel<string>('c', { capacity: 16384, producers: 'many', codec: 'utf8' });
        const children = Array.from({ length: CHILDREN }, (_, i) =>
          startChild('soak-child.mjs', [hubName, i + 1, SOAK_MS, PREFIX], ['--expose-gc']),
        );
        for (const c of children) expect(await c.line()).toBe('ready');
        const exits = Promise.all(children.map((c) => c.exited(SOAK_MS + 20_000)));
        let done = false;
        void exits.finally(() => {
          done = true;
        });
        for (;;) {
          let name: string;
          try {
            name = await rx.recvAsync({ timeout: 50 });
          } catch (e) {
            if (!ShmkitError.is(e, 'TIMEOUT')) throw e;
            if (done) break;
            continue;
          }
          names.add(name);
          // Open what a child just made: it may be gone already (NOT_FOUND), never anything else.
          try {
            const s = Segment.open(name);
            s.close();
            opened++;
          } catch (e) {
            if (!ShmkitError.is(e, 'NOT_FOUND')) throw e;
            gone++;
          }
          // And attach to the hub again, through a handle, as a worker would.
          const again = Segment.open(hubName);
          Channel.from(again.channel('c', { capacity: 16384, producers: 'many', codec: 'utf8' }).handle, {});
          again.close();
        }
        hub.close();
        hub.unlink();
        return (await exits).map((x) => {
          expect(x.code, x.stderr).toBe(0);
          return JSON.parse(x.stdout.split('\n').filter(Boolean).at(-1)!) as {
            id: number;
            rounds: number;
            workerRounds: number;
            rssStart: number;
            rssEnd: number;
            fdStart: number;
            fdEnd: number;
            mapsEnd: number;
          };
        });
      })();
      for (const r of results) {
        expect(r.rounds).toBeGreaterThan(0);
        expect(r.workerRounds).toBeGreaterThan(0);
        expect(r.rssEnd - r.rssStart, `child ${r.id} resident memory: ${JSON.stringify(r)}`).toBeLessThan(
          RSS_SLACK,
        );
        expect(r.fdEnd, `child ${r.id} descriptors: ${JSON.stringify(r)}`).toBe(r.fdStart);
        expect(r.mapsEnd, `child ${r.id} mappings`).toBe(0);
      }
      expect(names.size).toBe(results.reduce((n, r) => n + r.rounds, 0));
      // Buffers are unmapped once collected, on another thread: collect and wait, bounded.
      for (let i = 0; i < 100 && (mappingCount(mine) > mapsStart || fdCount() > fdStart); i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(mappingCount(mine)).toBe(mapsStart);
      expect(fdCount()).toBeLessThanOrEqual(fdStart);
      expect(leftoverSegments()).toEqual([]);
      console.log(
        `soak: ${names.size} segments made by children and ${results.reduce((n, r) => n + r.workerRounds, 0)} by their worker threads, ${opened} opened by the parent, ${gone} gone first; RSS growth per child ${results.map((r) => ((r.rssEnd - r.rssStart) / 1048576).toFixed(1)).join(', ')} MiB`,
      );
    },
    SOAK_MS + 120_000,
  );
});
