/**
 * ProcessIdentity: who holds a lock in memory shared by processes.
 *
 * Lock words carry the owner as a token of 29 bits (TOKEN_MASK, so that acquiring and recording
 * the owner are one CAS). A thread of another process is named by pid + process start time (pids
 * are reused) + threadId: far more than 29 bits. So each thread claims a slot of a small table
 * that lives in the shared memory itself (a segment reserves one), and its token names the slot:
 *
 *   token = generation << 12 | (slot + 1)        slot 0..4094, generation 17 bits
 *
 * Any process resolves a token by reading the slot, then asks /proc whether that process still
 * runs. The generation changes with every claim of a slot, so the token of a thread whose slot was
 * released or reclaimed never names the slot's next owner.
 *
 * Generations never wrap. A token may outlive its thread in any lock word of the memory (a thread
 * SIGKILLed while holding a mutex leaves its token there until the next locker repairs it), so a
 * slot must never hand out a token twice. A slot serves generations 1..GEN_MASK; the claimer that
 * finds its generation used up RETIRES it (pid word -1, forever) and claims another slot. A table
 * of N slots thus serves N x 131,071 claims over the life of the memory, then TOO_LARGE.
 *
 * Table layout: slots of 8 words (32 bytes) from word 0 of the caller's Int32Array. Zeroed memory
 * is an empty table, so a fresh segment needs no initialisation step (and no creator race).
 * | word | field                                   | written by                                       |
 * |------|-----------------------------------------|--------------------------------------------------|
 * | 0    | state: bit 0 LIVE, bits 1-17 generation | claimer (store LIVE); releaser, reclaimer (CAS)  |
 * | 1    | pid; 0 = free, -1 = retired (never free | claimer; cleared by CAS from the pid read;       |
 * |      | again). CAS 0 -> pid IS the claim       | -1 stored by the claimer that retires the slot   |
 * | 2    | start time, low 32 bits (clock ticks)   | claimer, after its claim and before LIVE         |
 * | 3    | start time, high bits                   | claimer, likewise                                |
 * | 4    | threadId (worker_threads)               | claimer, likewise                                |
 * | 5-7  | reserved (0)                            |                                                  |
 *
 * Life of a slot: free (state g, pid 0) -> claimed (state g, pid P) -> LIVE (state g+1 | LIVE)
 * -> released or reclaimed (state g+1, pid P) -> free (state g+1, pid 0).
 *
 * Invariants: (1) only the thread whose CAS put its pid into word 1 writes words 2-4 and stores
 * LIVE, while the state is not LIVE; (2) the state leaves LIVE only by CAS, so exactly one releaser
 * or reclaimer wins; (3) word 1 is cleared only by CAS from the value read, after the state left
 * LIVE, so a late clear never erases a newer claim; (4) words 1-4 do not change while the state is
 * LIVE with one generation, which readers check by loading the state before and after them.
 *
 * All processes sharing a table must share a pid namespace (one container, or none).
 */
import { threadId } from 'node:worker_threads';
import { type Identity, invalidArgument, ShmkitError } from '@shmkit/core';
import { isProcessAlive, selfStartTime } from './proc.js';

const SLOT_WORDS = 8;
const STATE = 0;
const PID = 1;
const START_LO = 2;
const START_HI = 3;
const THREAD = 4;
const LIVE = 1;
const SLOT_BITS = 12;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
const GEN_MASK = 0x1ffff;
/** Pid word of a slot whose generations are used up: never claimed nor reclaimed again. */
const RETIRED = -1;
const TWO_32 = 2 ** 32;

/** Who a token names (see {@link ProcessIdentity.owner}). */
export interface ThreadOwner {
  readonly pid: number;
  readonly startTime: number;
  readonly threadId: number;
}

/**
 * The identity of threads sharing memory across processes: tokens unique across processes and
 * threads, and liveness from /proc. One table per segment; each thread claims its slot on its
 * first `self()`.
 *
 * @example
 * ```ts
 * const id = new ProcessIdentity(new Int32Array(segmentBuffer, tableOffset, ProcessIdentity.bytesFor(64) / 4));
 * registerMemoryKind('futex', { waiter: futexWaiter, identity: id });
 * const me = id.self();                 // claims a slot: 1..TOKEN_MASK
 * id.isAlive(token);                    // false once that thread's process died or was reaped
 * ```
 */
export class ProcessIdentity implements Identity {
  /** Bytes one slot (one thread) takes. */
  static readonly SLOT_BYTES = SLOT_WORDS * 4;
  /** Most threads one table can name (slot + 1 must fit in 12 bits). */
  static readonly MAX_THREADS = SLOT_MASK;

  /** A blocked lock re-checks its owner's liveness this often. */
  readonly livenessSliceMs = 100;
  /** Number of slots. */
  readonly capacity: number;
  private readonly table: Int32Array;
  private token = 0;

  /** Bytes of a table for `threads` threads. */
  static bytesFor(threads: number): number {
    if (!Number.isInteger(threads) || threads < 1 || threads > ProcessIdentity.MAX_THREADS) {
      invalidArgument(`a thread table holds 1..${ProcessIdentity.MAX_THREADS} threads, got ${threads}`);
    }
    return threads * ProcessIdentity.SLOT_BYTES;
  }

  /** `table`: the table's words, in shared memory (zeroed when new). */
  constructor(table: Int32Array) {
    if (!(table instanceof Int32Array) || !(table.buffer instanceof SharedArrayBuffer)) {
      invalidArgument('a thread table is an Int32Array over a SharedArrayBuffer');
    }
    this.capacity = Math.min(Math.floor(table.length / SLOT_WORDS), ProcessIdentity.MAX_THREADS);
    if (this.capacity < 1)
      invalidArgument(`a thread table needs at least ${ProcessIdentity.SLOT_BYTES} bytes`);
    this.table = table;
  }

  /** The token this object already holds for the calling thread, or 0 (never claims a slot). */
  current(): number {
    return this.token;
  }

  /** The calling thread's token; claims (or finds) its slot on first use. TOO_LARGE when full. */
  self(): number {
    return this.token !== 0 ? this.token : this.claim();
  }

  /**
   * Whether the thread behind `token` may still run: its slot still holds the generation of the
   * token, and its process exists, is no zombie and has the recorded start time. A thread of a live
   * process counts as alive (thread exits are not observable from another process).
   */
  isAlive(token: number): boolean {
    if (token === this.token && token !== 0) return true;
    const slot = (token & SLOT_MASK) - 1;
    if (slot < 0 || slot >= this.capacity) return false;
    const owner = this.read(slot, ((token >>> SLOT_BITS) & GEN_MASK) * 2 + LIVE);
    if (owner === undefined) return false; // released or reclaimed: that thread is gone
    return owner.pid === process.pid
      ? owner.startTime === selfStartTime()
      : isProcessAlive(owner.pid, owner.startTime);
  }

  /** Who `token` names now, or undefined when its slot was released or reclaimed. */
  owner(token: number): ThreadOwner | undefined {
    const slot = (token & SLOT_MASK) - 1;
    if (slot < 0 || slot >= this.capacity) return undefined;
    return this.read(slot, ((token >>> SLOT_BITS) & GEN_MASK) * 2 + LIVE);
  }

  /**
   * Gives the calling thread's slot back (when it is done with the segment). Its token then counts
   * as dead: release only while holding no lock of this table's memory. Other ProcessIdentity
   * objects of this thread over the same table shared the slot; do not use them afterwards.
   * Releases the slot even when another of those objects was the one that claimed it.
   */
  release(): boolean {
    const token = this.token !== 0 ? this.token : this.findOwn();
    if (token === 0) return false;
    this.token = 0;
    const base = ((token & SLOT_MASK) - 1) * SLOT_WORDS;
    const live = ((token >>> SLOT_BITS) & GEN_MASK) * 2 + LIVE;
    if (Atomics.compareExchange(this.table, base + STATE, live, live & ~LIVE) !== live) return false;
    Atomics.compareExchange(this.table, base + PID, process.pid, 0);
    return true;
  }

  /**
   * Frees the slots of processes that died (or were reaped, or whose pid was reused), and of
   * claims their claimer did not finish. Returns how many. Runs by itself when the table is full.
   */
  reclaim(): number {
    const t = this.table;
    let freed = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      const base = slot * SLOT_WORDS;
      const state = Atomics.load(t, base + STATE);
      const pid = Atomics.load(t, base + PID);
      if (pid === 0 || pid === RETIRED) continue;
      if (state & LIVE) {
        const owner = this.read(slot, state);
        if (owner === undefined || owner.pid === process.pid || isProcessAlive(owner.pid, owner.startTime))
          continue;
        // Invariant (2): one winner takes the slot out of LIVE; then anyone may clear the pid.
        if (Atomics.compareExchange(t, base + STATE, state, state & ~LIVE) !== state) continue;
      } else if (pid === process.pid || isProcessAlive(pid)) {
        continue; // being claimed (its start time may not be written yet: judge by pid alone)
      }
      // Invariant (3): clears only the pid we judged; a newer claim keeps its own.
      if (Atomics.compareExchange(t, base + PID, pid, 0) === pid) freed++;
    }
    return freed;
  }

  private claim(): number {
    const t = this.table;
    const pid = process.pid;
    const start = selfStartTime();
    // Another ProcessIdentity of this thread over this table (a segment opened twice) already
    // holds a slot: share it, so that one thread has one token per table.
    const own = this.findOwn();
    if (own !== 0) {
      this.token = own;
      return own;
    }
    for (let pass = 0; pass < 2; pass++) {
      for (let slot = 0; slot < this.capacity; slot++) {
        const base = slot * SLOT_WORDS;
        if (Atomics.load(t, base + PID) !== 0) continue;
        // The claim. Winning it makes this thread the only writer of words 2-4 and of LIVE.
        if (Atomics.compareExchange(t, base + PID, 0, pid) !== 0) continue;
        const previous = (Atomics.load(t, base + STATE) >>> 1) & GEN_MASK;
        if (previous === GEN_MASK) {
          // Every generation of this slot was handed out: the next would wrap and repeat a token
          // that a lock word may still hold. Retire the slot (we own its pid word) and go on.
          Atomics.store(t, base + PID, RETIRED);
          continue;
        }
        const generation = previous + 1;
        Atomics.store(t, base + START_LO, start % TWO_32);
        Atomics.store(t, base + START_HI, Math.floor(start / TWO_32));
        Atomics.store(t, base + THREAD, threadId);
        // Publishes words 1-4 (seq_cst store after them) to readers that load this state first.
        const state = generation * 2 + LIVE;
        Atomics.store(t, base + STATE, state);
        this.token = tokenOf(slot, state);
        return this.token;
      }
      if (pass === 0 && this.reclaim() === 0) break;
    }
    let retired = 0;
    for (let slot = 0; slot < this.capacity; slot++)
      if (Atomics.load(t, slot * SLOT_WORDS + PID) === RETIRED) retired++;
    throw new ShmkitError(
      'TOO_LARGE',
      retired === 0
        ? `the thread table is full: ${this.capacity} live threads already use this shared memory`
        : `the thread table is full: ${this.capacity - retired} live threads use this shared memory and ` +
            `${retired} slots are retired (each slot names at most ${GEN_MASK} threads over the memory's life, ` +
            'so that no token repeats): create a new segment',
    );
  }

  /** The token of the slot this thread holds in the table (claimed by any object), or 0. */
  private findOwn(): number {
    const t = this.table;
    const start = selfStartTime();
    for (let slot = 0; slot < this.capacity; slot++) {
      const state = Atomics.load(t, slot * SLOT_WORDS + STATE);
      const owner = this.read(slot, state);
      if (
        owner !== undefined &&
        owner.pid === process.pid &&
        owner.startTime === start &&
        owner.threadId === threadId
      ) {
        return tokenOf(slot, state);
      }
    }
    return 0;
  }

  /** The owner recorded in `slot` if its state is `state` (LIVE) before and after the reads. */
  private read(slot: number, state: number): ThreadOwner | undefined {
    if (!(state & LIVE)) return undefined;
    const t = this.table;
    const base = slot * SLOT_WORDS;
    if (Atomics.load(t, base + STATE) !== state) return undefined;
    const pid = Atomics.load(t, base + PID);
    const startTime =
      (Atomics.load(t, base + START_LO) >>> 0) + (Atomics.load(t, base + START_HI) >>> 0) * TWO_32;
    const thread = Atomics.load(t, base + THREAD);
    if (Atomics.load(t, base + STATE) !== state) return undefined; // reclaimed while we read
    return { pid, startTime, threadId: thread };
  }
}

function tokenOf(slot: number, state: number): number {
  return (((state >>> 1) & GEN_MASK) << SLOT_BITS) | (slot + 1);
}
