/**
 * What benchmarks/channel.ts and its worker (channel/worker.ts) agree on: bounds, the sizes and
 * counts of each scenario, the jobs, and the minimal ring of scenario 1(c). A round's control
 * words are lib/control.ts's.
 */
import type { ChannelHandle } from '@shmkit/channel';
import { QUICK } from '../lib/harness.js';

/** Upper bound on any single wait (a Channel call, a spin, a worker answer). */
export const WAIT_MS = 30_000;
export const WAIT = { timeout: WAIT_MS };

/** Timed repetitions of every measurement; tables show the median. */
export const REPS = QUICK ? 3 : 5;
/** Warm-up runs use this fraction of n. */
export const WARM_FRACTION = 0.25;

/** 1: 64-byte messages per timed run. */
export const N_BYTES = QUICK ? 100_000 : 1_000_000;
/** 2: objects per timed run. */
export const N_OBJECTS = QUICK ? 30_000 : 200_000;
/** 3: 1 MiB messages per timed run. */
export const N_BIG = QUICK ? 200 : 1_000;
/** 4: round trips per timed run. */
export const N_RTT = QUICK ? 2_000 : 20_000;

export const SMALL = 64;
export const BIG = 1 << 20;
export const SMALL_CAPACITY = 1 << 20;
export const BIG_CAPACITY = 4 << 20;
/** postMessage windows (messages in flight), at least what the matching Channel ring holds. */
export const SMALL_WINDOW = 16_384; // the 1 MiB ring holds 13,107 framed 64-byte messages
export const OBJECT_WINDOW = 16_384; // ... and about 9,000 framed msgpack objects
export const BIG_WINDOW = 8; // the 4 MiB ring holds 3 framed 1 MiB messages

/** A timed run's n: `n`, or for a warm-up WARM_FRACTION of it (a multiple of `multiple`). */
export const scaled = (n: number, warm: boolean, multiple = 1): number =>
  warm ? Math.max(multiple, Math.floor((n * WARM_FRACTION) / multiple) * multiple) : n;

// The minimal ring of scenario 1(c): head and tail on separate lines, then the slots.
export const RING_HEAD = 0;
export const RING_TAIL = 32;
export const RING_DATA = 256;

/** A job of the main thread; `ctl` is the round's control block (lib/control.ts). */
export type Job = { ctl: Int32Array; n: number } & (
  | { kind: 'bytes-channel' | 'big-claim' | 'big-copy'; handle: ChannelHandle; size: number }
  | { kind: 'bytes-post' | 'big-post'; size: number; window: number }
  | { kind: 'bytes-ring'; sab: SharedArrayBuffer; size: number; slots: number }
  | { kind: 'obj-channel'; handle: ChannelHandle }
  | { kind: 'obj-post'; window: number }
  | { kind: 'pp-channel'; ping: ChannelHandle; pong: ChannelHandle }
  | { kind: 'pp-post' }
);
