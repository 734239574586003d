/** What benchmarks/datapath.ts and its worker (datapath-worker.ts) agree on. */
import type { ChannelHandle } from '@shmkit/channel';

export const READY = 0;
export const GO = 32;
export const ACK = 64;
/** The minimal ring: head and tail on their own lines, then 64-byte slots. */
export const RING_HEAD = 0;
export const RING_TAIL = 32;
export const RING_SLOTS_AT = 64; // int32 index of slot 0
export const RING_SLOTS = 16_384;
export const SLOT_WORDS = 16;

export interface Job {
  job: 'sab-ring' | 'send' | 'send-many' | 'post-transfer' | 'post-copy' | 'echo';
  n: number;
  size: number;
  ctl: SharedArrayBuffer;
  ring?: SharedArrayBuffer;
  channel?: ChannelHandle;
  pong?: ChannelHandle;
  window?: number;
}
