/**
 * The claim lock of a many-producer ring (layout version 2), and its recovery when the holder dies.
 *
 * Why a lock: v1 producers claimed room with a CAS on `reserve` and wrote the frame header after,
 * so a producer killed between the two left room of a size nobody had recorded; the ring stayed
 * blocked for good (issue 10.2). Now the claim is a tiny critical section whose owner is recorded
 * atomically with its acquisition — the lock word holds the claimer's token, as in Linux robust
 * futexes — and whose every step leaves memory a survivor can finish:
 *
 *   1. CAS(claimLock, 0, token)                  (only the holder writes reserve and claimEnd)
 *   2. r = reserve; check room against head
 *   3. store(claimEnd, r + need)                  -- failpoint channel.after-claim after this
 *   4. write each frame's header (words 1-3, then state -(len + 1); a PAD first at the wrap)
 *   5. store(reserve, r + need)                   release: consumers see whole headers below it
 *   6. store(claimLock, 0)
 *
 * A survivor that finds the lock held by a dead token takes it over with a CAS and reads
 * claimEnd - reserve: 0 means the holder died before step 3 or after step 5 (nothing to do but
 * unlock: frames it claimed and never committed are turned into SKIPs by receivers, see
 * liveness.ts); otherwise it died during 3..5, and the survivor covers [reserve, claimEnd) with a
 * SKIP (after a PAD if it spans the wrap) and moves reserve there. The lock is held for a few
 * stores, never across a copy or a wait; the payload copy happens after step 6.
 */
import { type Identity, TOKEN_MASK } from '@shmkit/core';
import {
  CLAIM_END,
  CLAIM_LOCK,
  DATA_SIGNAL,
  HEAD,
  KIND_PAD,
  KIND_SKIP,
  RECV_SLEEPERS,
  RESERVE,
} from './layout.js';
import { corrupt, type RingMemory } from './ring-memory.js';
import { wake } from './wake.js';

/**
 * How a producer waits for a held lock (test-and-test-and-set with bounded backoff). The lock is
 * held for a few stores, so a holder that is running frees it within a few hundred reads:
 *   - try the CAS once; then spin on a plain load, not on the CAS: waiting producers share the
 *     lock's cache line instead of stealing it from each other (and the holder) on every try;
 *   - after losing a race for a freed lock, wait a doubling number of reads (up to MAX_BACKOFF,
 *     jittered by token so that the losers do not retry in step);
 *   - past SPIN_TRIES tries the holder is not running (more threads than cores, or a dead one):
 *     sleep YIELD_MS at a time so that it gets our core, checking its liveness now and then.
 * On 2 cores with 4 producers, spinning on the CAS for a descheduled holder cost whole time
 * slices; see docs/channel.md, "Many producers and many consumers".
 */
const MAX_BACKOFF = 256;
/** Backoff rounds before a waiting producer starts to sleep between tries. */
const SPIN_TRIES = 8;
/** One sleep between tries (ms): shorter than a time slice, long enough to give the core away. */
const YIELD_MS = 0.02;
/** Sleeps between two liveness checks of a holder (a check reads /proc in processes). */
const SLEEPS_PER_CHECK = 16;
/**
 * How long a producer waits for a held lock before it gives up for now (its caller then waits in
 * short sleeps, within its own timeout). A live holder keeps the lock for a few stores; one that
 * keeps it this long is descheduled, or the word is corrupt, and waiting on would hang trySend.
 */
const PATIENCE_MS = 2;

/**
 * Takes the claim lock for `token`; takes it over from a holder that died. Returns false when a
 * live holder kept it for PATIENCE_MS (or SPIN_TRIES backoff rounds when not `patient`: the caller
 * already waited once and now retries between short sleeps).
 */
export function lockClaim(m: RingMemory, identity: Identity, token: number, patient: boolean): boolean {
  const i32 = m.i32;
  let since = -1;
  let backoff = 1 + (token & 3);
  // acquire: the holder's stores of reserve and claimEnd happen before its release of the lock.
  // The first try is the CAS itself: a free lock then costs one transfer of its line, not two.
  let holder = Atomics.compareExchange(i32, CLAIM_LOCK, 0, token);
  if (holder === 0) return true;
  for (let tries = 1; ; tries++) {
    if (tries > 1) {
      // A plain read first: a CAS on a held lock only moves the cache line around.
      holder = Atomics.load(i32, CLAIM_LOCK);
      if (holder === 0) {
        holder = Atomics.compareExchange(i32, CLAIM_LOCK, 0, token); // acquire, as above
        if (holder === 0) return true;
      }
    }
    if (holder === token || holder < 0 || holder > TOKEN_MASK)
      throw corrupt(`a claim lock held by ${holder === token ? 'this thread already' : holder}`);
    if (tries <= SPIN_TRIES) {
      // Read until it looks free or the backoff runs out (bounded either way).
      for (let j = 0; j < backoff && Atomics.load(i32, CLAIM_LOCK) !== 0; j++);
      backoff = Math.min(backoff * 2, MAX_BACKOFF);
      continue;
    }
    const sleeps = tries - SPIN_TRIES;
    if (sleeps % SLEEPS_PER_CHECK === 1 || !patient) {
      if (identity.livenessSliceMs !== Number.POSITIVE_INFINITY && !identity.isAlive(holder)) {
        if (takeOver(m, holder, token)) return true;
        continue;
      }
    }
    if (!patient) return false;
    const now = performance.now();
    if (since < 0) since = now;
    else if (now - since > PATIENCE_MS) return false;
    try {
      // Nobody notifies the lock word: this is a short sleep that lets a descheduled holder run.
      m.waiter.wait(i32, CLAIM_LOCK, holder, YIELD_MS);
    } catch {
      return false; // a thread that may not block (a browser's main thread): its caller waits async
    }
  }
}

/** Releases the claim lock (release: reserve, claimEnd and the headers are visible first). */
export function unlockClaim(m: RingMemory): void {
  Atomics.store(m.i32, CLAIM_LOCK, 0);
}

/**
 * If the claim lock is held by a dead producer, repairs what it left and releases the lock.
 * Returns true if it did. Called by waiters after a quiet liveness slice.
 */
export function recoverClaimLock(m: RingMemory, identity: Identity): boolean {
  if (!m.manyProducers || identity.livenessSliceMs === Number.POSITIVE_INFINITY) return false;
  const holder = Atomics.load(m.i32, CLAIM_LOCK);
  if (holder === 0 || identity.isAlive(holder)) return false;
  if (!takeOver(m, holder, identity.self())) return false;
  unlockClaim(m);
  return true;
}

/**
 * CAS the lock from the dead `holder` to `token`, then finish or undo its claim. Returns false if
 * another survivor got there first. The caller holds the lock afterwards.
 */
function takeOver(m: RingMemory, holder: number, token: number): boolean {
  const i32 = m.i32;
  // The holder is dead, so only another survivor can change the word: one of us wins.
  if (Atomics.compareExchange(i32, CLAIM_LOCK, holder, token) !== holder) return false;
  try {
    const r = Atomics.load(i32, RESERVE);
    const end = Atomics.load(i32, CLAIM_END);
    const d = (end - r) >>> 0;
    if (d === 0) return true;
    const used = (r - Atomics.load(i32, HEAD)) >>> 0;
    if (used > m.capacity || d > m.capacity - used || (d & 15) !== 0 || (r & 15) !== 0) {
      throw corrupt(`a claim of ${d} bytes at ${r} (${used} in use)`);
    }
    // Nothing in [r, end) is published (reserve is below it): we may overwrite it freely.
    const idx = r & m.mask;
    const room = m.capacity - idx;
    if (d > room) {
      writeDone(m, idx, room | KIND_PAD, holder);
      writeDone(m, 0, (d - room) | KIND_SKIP, holder);
    } else {
      writeDone(m, idx, d | KIND_SKIP, holder);
    }
    // release: the SKIP headers are visible to a consumer that loads the new reserve.
    Atomics.store(i32, RESERVE, end);
    wake(i32, m.waiter, DATA_SIGNAL, RECV_SLEEPERS, Number.POSITIVE_INFINITY);
    return true;
  } catch (e) {
    unlockClaim(m);
    throw e;
  }
}

/** Writes a committed, empty frame header (PAD or SKIP) at ring offset `idx`. */
function writeDone(m: RingMemory, idx: number, sizeKind: number, token: number): void {
  const w = m.word(idx);
  m.i32[w + 1] = sizeKind;
  m.i32[w + 2] = token;
  m.i32[w + 3] = 0;
  Atomics.store(m.i32, w, 1);
}
