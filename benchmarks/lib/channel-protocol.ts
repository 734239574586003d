/**
 * What benchmarks/channel.ts and its worker (channel-worker.ts) agree on: bounds, the control
 * words of a round and the minimal ring of scenario 1(c).
 */

/** Upper bound on any single wait (a Channel call, a spin, a worker answer). */
export const WAIT_MS = 30_000;
export const WAIT = { timeout: WAIT_MS };
export const MAGIC = 0x5a5a5a5a;
export const TS0 = 1_700_000_000_000;

// Control words, one 128-byte line each, in a fresh buffer per round.
export const READY = 0; // worker adds 1 when set up
export const GO = 32; // main sets 1: start
export const DONE = 64; // worker sets 1 when finished (or failed)
export const ACK = 96; // postMessage rounds: messages the main thread has received
export const ERR = 128; // worker sets 1 on failure, and the length of its error text at ERR + 1
export const ERR_TEXT = 5 * 128; // byte offset of that text (UTF-8)
export const ERR_TEXT_MAX = 2048;
export const CTL_BYTES = ERR_TEXT + ERR_TEXT_MAX;

// The minimal ring of scenario 1(c): head and tail on separate lines, then the slots.
export const RING_HEAD = 0;
export const RING_TAIL = 32;
export const RING_DATA = 256;
