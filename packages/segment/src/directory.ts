/**
 * The directory of named objects in a segment, and its bump allocator.
 *
 * Entry layout (96 bytes, at directoryOffset + 96 x index):
 * | offset | size | field                                                        | written by          |
 * |--------|------|--------------------------------------------------------------|---------------------|
 * | 0      | 4    | kind id (the table in kinds.ts)                              | its creator, once   |
 * | 4      | 4    | offset of the object / 128                                   | its creator, once   |
 * | 8      | 8    | byteLength of the object's region                            | its creator, once   |
 * | 16     | 12   | param words p0..p2 (what each holds: kinds.ts)               | its creator, once   |
 * | 28     | 4    | key length in UTF-8 bytes (1..64)                            | its creator, once   |
 * | 32     | 64   | key, UTF-8                                                   | its creator, once   |
 *
 * Protocol. Entries are only ever appended, and never change once complete; the header's entry
 * count is the commit point. Creating an object, all under the directory lock:
 *   1. re-scan the entries appended since the lock-free scan (another process may have won);
 *   2. take room from the bump pointer and store the new bump BEFORE touching the room, so that a
 *      creator that dies from here on leaks that room rather than handing half-written memory to
 *      the next creator (fresh room is always zeroed, as channels need);
 *   3. initialize the object in place (its constructor, which publishes its type tag last);
 *   4. write the entry, then store count + 1 (seq_cst).
 * Looking up needs no lock: load the count (seq_cst, pairs with step 4), then read entries below
 * it, which are complete and immutable. A creator that dies holding the lock leaves either a
 * committed entry or nothing (at worst leaked room), so the next locker, told OWNER_DEAD, has
 * nothing to repair: it marks the lock consistent and goes on.
 *
 * Everything read from an entry is validated (kind known, key length in range, the object inside
 * the data area, its size what its kind and params require): a bad entry is CORRUPT, never an
 * out-of-bounds access.
 */

import { FAILPOINT, failpoint, ShmkitError } from '@shmkit/core';
import type { Mutex } from '@shmkit/sync';
import { ALLOCATION_UNIT, corrupt, ENTRY_BYTES, type HeaderInfo, W_BUMP, W_COUNT } from './header.js';
import { kindById, kindName, type ObjectKindDef, type ObjectParams, type ParamWords } from './kinds.js';
import { MAX_KEY_BYTES } from './names.js';

/** A complete, validated entry: its key, kind id, where its object lives and its params. */
export interface Entry extends ObjectParams {
  readonly key: string;
  readonly kind: number;
  readonly offset: number;
}

// Int32 indices inside an entry.
const E_KIND = 0;
const E_OFFSET = 1;
const E_LEN_LO = 2;
const E_LEN_HI = 3;
/** The three param words (ParamWords of kinds.ts), at E_PARAMS .. E_PARAMS + 2. */
const E_PARAMS = 4;
const E_KEY_LEN = 7;
const KEY_AT = 32;
const ENTRY_WORDS = ENTRY_BYTES / 4;
const TWO_32 = 2 ** 32;
/** How long get-or-create waits for the directory lock: holders keep it for microseconds. */
const LOCK_TIMEOUT_MS = 30_000;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The directory of one mapped segment, as seen by one Segment object. */
export class Directory {
  private readonly header: Int32Array;
  private readonly entries: Int32Array;
  private readonly bytes: Uint8Array;
  /** Entries already validated, by key; complete entries never change. */
  private readonly known = new Map<string, Entry>();
  /** Entries [0, scanned) are in `known`. */
  private scanned = 0;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly info: HeaderInfo,
    private readonly lock: Mutex,
    private readonly what: string,
  ) {
    this.header = new Int32Array(buffer, 0, info.tableOffset / 4);
    this.entries = new Int32Array(buffer, info.directoryOffset, (info.capacity * ENTRY_BYTES) / 4);
    this.bytes = new Uint8Array(buffer);
  }

  /** The entry of `key`, if it exists (no lock). */
  find(key: string): Entry | undefined {
    const hit = this.known.get(key);
    if (hit !== undefined) return hit;
    this.scan();
    return this.known.get(key);
  }

  /** Every complete entry, in creation order. */
  list(): Entry[] {
    this.scan();
    return [...this.known.values()];
  }

  /** Bytes of the data area not yet handed out (a snapshot). */
  freeBytes(): number {
    const end = Atomics.load(this.header, W_BUMP) * ALLOCATION_UNIT;
    return Math.max(0, this.info.size - end);
  }

  /**
   * The object `key` of kind `kind` with `params`: attaches to it when it exists (INCOMPATIBLE
   * when it is another kind or has other params), otherwise creates it with `init` under the
   * directory lock. `init` constructs the object in its (zeroed) region and returns it; `attach`
   * wraps an existing one.
   */
  getOrCreate<T>(
    key: string,
    keyBytes: Uint8Array,
    kind: ObjectKindDef<never, unknown>,
    params: ObjectParams,
    init: (offset: number) => T,
    attach: (offset: number) => T,
  ): T {
    const spec = { ...params, kind };
    const found = this.find(key);
    if (found !== undefined) return attach(this.check(found, spec).offset);
    this.lockDirectory();
    try {
      // Step 1: another thread or process may have created it since our scan.
      const raced = this.find(key);
      if (raced !== undefined) return attach(this.check(raced, spec).offset);
      const index = this.count();
      if (index >= this.info.capacity) {
        throw new ShmkitError(
          'TOO_LARGE',
          `${this.what} has no room for ${kind.name} ${JSON.stringify(key)}: its directory is full ` +
            `(${this.info.capacity} objects); create the segment with a larger maxObjects`,
        );
      }
      // Step 2: room from the bump pointer, claimed before it is touched.
      const bump = Atomics.load(this.header, W_BUMP);
      const start = bump * ALLOCATION_UNIT;
      if (!(start >= this.info.dataOffset && start <= alignedEnd(this.info.size))) {
        throw this.corrupt(`allocation pointer ${start} outside the data area`);
      }
      const end = start + spec.byteLength;
      if (end > this.info.size) {
        throw new ShmkitError(
          'TOO_LARGE',
          `${this.what} has no room for ${kind.name} ${JSON.stringify(key)}: it needs ` +
            `${spec.byteLength} bytes, ${Math.max(0, this.info.size - start)} of ${this.info.size} are left; ` +
            'create the segment with a larger size',
        );
      }
      Atomics.store(this.header, W_BUMP, alignedEnd(end) / ALLOCATION_UNIT);
      // Crash window for tests: room taken, object not initialized, entry not committed.
      if (FAILPOINT !== undefined) failpoint('directory.after-alloc');
      // Step 3: the object, initialized in place.
      const obj = init(start);
      // Step 4: the entry, then the commit.
      const base = index * ENTRY_WORDS;
      const e = this.entries;
      e[base + E_KIND] = kind.id;
      e[base + E_OFFSET] = bump;
      e[base + E_LEN_LO] = spec.byteLength % TWO_32;
      e[base + E_LEN_HI] = Math.floor(spec.byteLength / TWO_32);
      e.set(spec.params, base + E_PARAMS);
      e[base + E_KEY_LEN] = keyBytes.length;
      this.bytes.set(keyBytes, this.entryByte(index) + KEY_AT);
      // release: seq_cst store after the object's initialization and the entry's fields; pairs
      // with the count load in scan(), in every process.
      Atomics.store(this.header, W_COUNT, index + 1);
      return obj;
    } finally {
      this.lock.unlock();
    }
  }

  /** Reads and validates entries [scanned, count) into `known`. */
  private scan(): void {
    const count = this.count();
    for (let i = this.scanned; i < count; i++) {
      const entry = this.read(i);
      if (this.known.has(entry.key)) throw this.corrupt(`two entries for key ${JSON.stringify(entry.key)}`);
      this.known.set(entry.key, entry);
    }
    if (count > this.scanned) this.scanned = count;
  }

  private count(): number {
    // acquire: pairs with the commit store in getOrCreate; entries below it are complete.
    const count = Atomics.load(this.header, W_COUNT);
    if (!(count >= 0 && count <= this.info.capacity)) {
      throw this.corrupt(`directory count ${count} (capacity ${this.info.capacity})`);
    }
    return count;
  }

  private read(index: number): Entry {
    const base = index * ENTRY_WORDS;
    const e = this.entries;
    const kind = e[base + E_KIND]!;
    const unit = e[base + E_OFFSET]! >>> 0;
    const byteLength = (e[base + E_LEN_LO]! >>> 0) + (e[base + E_LEN_HI]! >>> 0) * TWO_32;
    const params: ParamWords = [e[base + E_PARAMS]!, e[base + E_PARAMS + 1]!, e[base + E_PARAMS + 2]!];
    const keyLength = e[base + E_KEY_LEN]!;
    const where = `directory entry ${index}`;
    const def = kindById(kind);
    if (def === undefined) throw this.corrupt(`${where} has unknown kind ${kind}`);
    if (!(keyLength >= 1 && keyLength <= MAX_KEY_BYTES)) {
      throw this.corrupt(`${where} has a key of ${keyLength} bytes`);
    }
    const at = this.entryByte(index) + KEY_AT;
    let key: string;
    try {
      key = decoder.decode(this.bytes.slice(at, at + keyLength));
    } catch {
      throw this.corrupt(`${where} has a key that is not UTF-8`);
    }
    const offset = unit * ALLOCATION_UNIT;
    if (!(offset >= this.info.dataOffset && byteLength >= 1 && offset + byteLength <= this.info.size)) {
      throw this.corrupt(`${where} (${JSON.stringify(key)}) places ${byteLength} bytes at ${offset}`);
    }
    const expected = def.size({ byteLength, params });
    if (expected !== byteLength) {
      throw this.corrupt(
        `${where} (${JSON.stringify(key)}): a ${def.name} with these params takes ${expected ?? 'no'} bytes, not ${byteLength}`,
      );
    }
    return { key, kind, offset, byteLength, params };
  }

  /** Returns `entry` when it matches `spec`; INCOMPATIBLE otherwise. */
  private check(entry: Entry, spec: ObjectParams & { kind: ObjectKindDef<never, unknown> }): Entry {
    if (entry.kind !== spec.kind.id) {
      throw new ShmkitError(
        'INCOMPATIBLE',
        `${JSON.stringify(entry.key)} in ${this.what} is a ${kindName(entry.kind)}, not a ${spec.kind.name}`,
      );
    }
    if (entry.byteLength !== spec.byteLength || entry.params.some((w, i) => w !== spec.params[i])) {
      throw new ShmkitError(
        'INCOMPATIBLE',
        `${spec.kind.name} ${JSON.stringify(entry.key)} in ${this.what} was created with ` +
          `${spec.kind.describe(entry)}, not ${spec.kind.describe(spec)}`,
      );
    }
    return entry;
  }

  /**
   * Takes the directory lock. A holder that died leaves nothing half done (see the protocol
   * above), so OWNER_DEAD needs no repair: consistent() and carry on, holding the lock.
   */
  private lockDirectory(): void {
    try {
      this.lock.lock({ timeout: LOCK_TIMEOUT_MS });
    } catch (e) {
      if (ShmkitError.is(e, 'OWNER_DEAD')) {
        this.lock.consistent();
        return;
      }
      if (ShmkitError.is(e, 'TIMEOUT')) {
        throw new ShmkitError(
          'TIMEOUT',
          `the directory lock of ${this.what} has been held by a live thread for ${LOCK_TIMEOUT_MS} ms ` +
            '(a stopped process?)',
          { cause: e },
        );
      }
      throw e;
    }
  }

  private entryByte(index: number): number {
    return this.info.directoryOffset + index * ENTRY_BYTES;
  }

  private corrupt(detail: string): ShmkitError {
    return corrupt(this.what, detail);
  }
}

function alignedEnd(n: number): number {
  return Math.ceil(n / ALLOCATION_UNIT) * ALLOCATION_UNIT;
}
