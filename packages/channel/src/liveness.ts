/**
 * Producer liveness, for channels in memory shared between processes (a segment).
 *
 * Producers register their owner token in the channel header on their first send. A receiver
 * that finds the ring drained and every registered producer dead gets PEER_DEAD instead of
 * waiting forever; a frame a dead producer claimed but never committed is turned into a SKIP so
 * it does not block the ring for the survivors. With heap memory threads cannot be observed
 * dying (the heap identity always says "alive"), so none of this ever triggers there.
 *
 * A producer killed while it held the claim lock is repaired in claim-lock.ts; one killed after
 * its claim (state -(len + 1) below reserve, its token in word 2) is repaired here.
 */
import type { Identity } from '@shmkit/core';
import {
  HEAD,
  KIND_MASK,
  KIND_SKIP,
  READ_CLAIM,
  REGISTRY_END,
  REGISTRY_FIRST,
  REGISTRY_OVERFLOW,
  RESERVE,
} from './layout.js';
import { corrupt, type RingMemory } from './ring-memory.js';

/** Registers `token` as a producer (idempotent); reuses a dead producer's slot when full. */
export function registerProducer(m: RingMemory, identity: Identity): void {
  const i32 = m.i32;
  const token = identity.self();
  for (let i = REGISTRY_FIRST; i < REGISTRY_END; i++) if (Atomics.load(i32, i) === token) return;
  for (let i = REGISTRY_FIRST; i < REGISTRY_END; i++) {
    if (Atomics.compareExchange(i32, i, 0, token) === 0) return;
  }
  for (let i = REGISTRY_FIRST; i < REGISTRY_END; i++) {
    const t = Atomics.load(i32, i);
    if (!identity.isAlive(t) && Atomics.compareExchange(i32, i, t, token) === t) return;
  }
  // No slot: liveness can no longer be judged, so PEER_DEAD is never reported for this channel.
  Atomics.store(i32, REGISTRY_OVERFLOW, 1);
}

/** Removes `token` from the registry: a producer that leaves cleanly is not a dead peer. */
export function unregisterProducer(m: RingMemory, token: number): void {
  for (let i = REGISTRY_FIRST; i < REGISTRY_END; i++) Atomics.compareExchange(m.i32, i, token, 0);
}

/** True when at least one producer registered and every registered producer is dead. */
export function producersDead(m: RingMemory, identity: Identity): boolean {
  if (identity.livenessSliceMs === Number.POSITIVE_INFINITY) return false;
  if (Atomics.load(m.i32, REGISTRY_OVERFLOW) !== 0) return false;
  let any = false;
  for (let i = REGISTRY_FIRST; i < REGISTRY_END; i++) {
    const t = Atomics.load(m.i32, i);
    if (t === 0) continue;
    if (identity.isAlive(t)) return false;
    any = true;
  }
  return any;
}

/**
 * If the next frame to read (many producers) was claimed by a producer that has died before
 * committing it, commits it as a SKIP. Returns true if it did.
 */
export function skipDeadClaim(m: RingMemory, identity: Identity): boolean {
  if (!m.manyProducers) return false; // one producer publishes whole frames or nothing
  const pos = Atomics.load(m.i32, m.manyConsumers ? READ_CLAIM : HEAD);
  if (Atomics.load(m.i32, RESERVE) === pos) return false;
  // Frames start at multiples of 16, so a frame's four header words lie inside the ring. A corrupt
  // position near the end of the ring would otherwise send the loads below past the channel's
  // memory (a RangeError from Atomics; regression test in test/reliability/channel-fuzz.test.ts).
  if ((pos & 15) !== 0) throw corrupt(`a frame position ${pos} that is not a multiple of 16`);
  const w = m.word(pos & m.mask);
  const w0 = Atomics.load(m.i32, w);
  if (w0 >= 0) return false;
  const token = Atomics.load(m.i32, w + 2);
  if (identity.isAlive(token)) return false;
  const w1 = Atomics.load(m.i32, w + 1);
  // Any kind becomes SKIP, fragments included: the dead producer's partial message is dropped.
  Atomics.store(m.i32, w + 1, (w1 & ~KIND_MASK) | KIND_SKIP);
  // The producer is dead, so nobody else writes this word; the CAS guards against a second
  // receiver doing the same repair at the same time.
  return Atomics.compareExchange(m.i32, w, w0, 1) === w0;
}
