/**
 * Scenario 4: ping-pong latency, 64-byte messages, main <-> one worker: two Channels with blocking
 * calls on main, the same with sendAsync / recvAsync on main, and postMessage both ways. The
 * worker blocks in every Channel variant. Per-round-trip times go to hdr-histogram-js histograms.
 */
import { Channel } from '@shmkit/channel';
import * as hdr from 'hdr-histogram-js';
import { alternate, fixed, median } from '../lib/harness.js';
import type { BenchWorker } from '../lib/worker.js';
import { checkEcho, stamp } from './messages.js';
import { N_RTT, REPS, SMALL, scaled, WAIT, WAIT_MS } from './protocol.js';
import { printTargets, target } from './report.js';
import { start, waitDone, waitReady } from './rounds.js';

type RttBackend = 'channel blocking' | 'channel async' | 'postMessage';

interface RttRun {
  n: number;
  p50us: number;
  p99us: number;
  p999us: number;
  maxUs: number;
  meanUs: number;
  histogram: hdr.Histogram;
}

const newHistogram = (): hdr.Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });

/** Records one round trip of `ms` milliseconds, in nanoseconds. */
function record(h: hdr.Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1e6)));
}

function pingPongBlocking(ping: Channel<Uint8Array>, pong: Channel<Uint8Array>, n: number, h: hdr.Histogram) {
  const buf = new Uint8Array(SMALL);
  const w = new Int32Array(buf.buffer, 0, 2);
  for (let c = 0; c < n; c++) {
    stamp(w, c);
    const t0 = performance.now();
    ping.send(buf, WAIT);
    const m = pong.recv(WAIT);
    record(h, performance.now() - t0);
    checkEcho(m, c);
  }
}

async function pingPongAsync(
  ping: Channel<Uint8Array>,
  pong: Channel<Uint8Array>,
  n: number,
  h: hdr.Histogram,
): Promise<void> {
  const buf = new Uint8Array(SMALL);
  const w = new Int32Array(buf.buffer, 0, 2);
  for (let c = 0; c < n; c++) {
    stamp(w, c);
    const t0 = performance.now();
    await ping.sendAsync(buf, WAIT);
    const m = await pong.recvAsync(WAIT);
    record(h, performance.now() - t0);
    checkEcho(m, c);
  }
}

function pingPongPost(wk: BenchWorker, n: number, h: hdr.Histogram): Promise<void> {
  const buf = new Uint8Array(SMALL);
  const w = new Int32Array(buf.buffer, 0, 2);
  let c = 0;
  let t0 = 0;
  const send = (): void => {
    stamp(w, c);
    t0 = performance.now();
    wk.w.postMessage(buf);
  };
  const done = wk.listen(
    (m) => {
      record(h, performance.now() - t0);
      checkEcho(m as Uint8Array, c);
      if (++c === n) return true;
      send();
      return false;
    },
    2 * WAIT_MS,
    () => `postMessage ping-pong: ${c} of ${n} round trips`,
  );
  send();
  return done;
}

async function round(wk: BenchWorker, k: RttBackend, warm: boolean): Promise<RttRun> {
  const n = scaled(N_RTT, warm);
  const h = newHistogram();
  if (k === 'postMessage') {
    const ctl = start(wk, { kind: 'pp-post', n });
    waitReady(ctl);
    await pingPongPost(wk, n, h);
    waitDone(ctl);
  } else {
    const ping = new Channel<Uint8Array>({ capacity: 4096 });
    const pong = new Channel<Uint8Array>({ capacity: 4096 });
    const ctl = start(wk, { kind: 'pp-channel', ping: ping.handle, pong: pong.handle, n });
    waitReady(ctl);
    if (k === 'channel blocking') pingPongBlocking(ping, pong, n, h);
    else await pingPongAsync(ping, pong, n, h);
    waitDone(ctl);
  }
  if (h.totalCount !== n) throw new Error(`${k}: ${h.totalCount} round trips recorded, expected ${n}`);
  const us = (p: number): number => h.getValueAtPercentile(p) / 1000;
  return {
    n,
    p50us: us(50),
    p99us: us(99),
    p999us: us(99.9),
    maxUs: h.maxValue / 1000,
    meanUs: h.mean / 1000,
    histogram: h,
  };
}

export async function roundTrip(wk: BenchWorker) {
  const s = await alternate<RttBackend, RttRun>(
    REPS,
    ['channel blocking', 'channel async', 'postMessage'],
    (k, warm) => round(wk, k, warm),
  );
  const summary = (backend: string, k: RttBackend) => {
    const runs = s[k];
    const merged = newHistogram();
    for (const r of runs) merged.add(r.histogram);
    return {
      backend,
      p50us: median(runs.map((r) => r.p50us)),
      p99us: median(runs.map((r) => r.p99us)),
      p999us: median(runs.map((r) => r.p999us)),
      allRuns: {
        count: merged.totalCount,
        p50us: merged.getValueAtPercentile(50) / 1000,
        p99us: merged.getValueAtPercentile(99) / 1000,
        p999us: merged.getValueAtPercentile(99.9) / 1000,
        maxUs: merged.maxValue / 1000,
        meanUs: merged.mean / 1000,
      },
      runs: runs.map(({ histogram: _, ...rest }) => rest),
    };
  };
  const rows = [
    summary('Channel, main blocking send/recv', 'channel blocking'),
    summary('Channel, main sendAsync/recvAsync', 'channel async'),
    summary('postMessage both ways', 'postMessage'),
  ] as const;
  const p50Ratios = (a: number, b: number): number[] =>
    rows[a]!.runs.map((r, i) => r.p50us / rows[b]!.runs[i]!.p50us);
  console.log(
    `4. round-trip latency, ${N_RTT.toLocaleString('en-US')} x 64-byte ping-pong per run, main <-> worker ` +
      `(hdr-histogram-js; medians of the runs' percentiles)`,
  );
  console.table(
    rows.map((r) => ({
      backend: r.backend,
      'p50 µs': fixed(r.p50us, 2),
      'p99 µs': fixed(r.p99us, 2),
      'p99.9 µs': fixed(r.p999us, 2),
      'max µs (all runs)': fixed(r.allRuns.maxUs, 0),
    })),
  );
  printTargets([
    target(
      '4',
      'Channel blocking / postMessage (p50)',
      rows[0].p50us / rows[2].p50us,
      p50Ratios(0, 2),
      'max',
      1 / 3,
    ),
    target(
      '4',
      'Channel async / postMessage (p50)',
      rows[1].p50us / rows[2].p50us,
      p50Ratios(1, 2),
      'max',
      1 / 2,
    ),
  ]);
  console.log(
    `   (info) p99 ratios: blocking ${fixed(rows[0].p99us / rows[2].p99us, 2)}x, ` +
      `async ${fixed(rows[1].p99us / rows[2].p99us, 2)}x`,
  );
  return rows;
}
