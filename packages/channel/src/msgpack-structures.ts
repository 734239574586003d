/**
 * The msgpack codec's shared record structures: an append-only table in the channel's own shared
 * memory, so that every sender and receiver (threads and processes) agrees on which key list each
 * msgpackr record id stands for, and messages carry no record definitions of their own.
 *
 * Layout (STRUCTURES_BYTES bytes, right after the ring, or after the marks with many consumers):
 * | byte | field                                           | written by                          |
 * |------|-------------------------------------------------|-------------------------------------|
 * | 0    | tag (kind 'st', version 1)                      | the channel's creator, last         |
 * | 4    | version (1)                                     | the creator                         |
 * | 8    | slots (32)                                      | the creator                         |
 * | 12   | data bytes (7936)                               | the creator                         |
 * | 16   | bump: data bytes handed out (multiple of 8)     | senders, by CAS                     |
 * | 64   | slot[0..31]: 0 = empty, else record offset/8 + 1 | senders, one CAS 0 -> ref each     |
 * | 256  | data: records                                   | each record by the sender that took it |
 * A record is u32 payload length, u32 FNV-1a of the payload, then the payload: u16 key count and
 * per key a u16 byte length and the key's UTF-8 bytes.
 *
 * Protocol (lock-free; a sender that dies anywhere leaks at most its record's bytes):
 *  - Adding key list K as slot i: take a record's room from `bump` (CAS), write the record there
 *    (nobody else knows that room), then CAS slot[i] from 0 to the record's ref. The seq_cst CAS
 *    publishes the record to every reader that loads the slot.
 *  - Slot i is only tried by a sender that saw slots 0..i-1 filled: slots fill in order, readers
 *    stop at the first empty one.
 *  - A sender that loses slot i to another key list tells msgpackr the save failed; msgpackr then
 *    reloads the table and encodes the message again with K at a later id. No message leaves a
 *    sender before the structures it uses are committed, and the frame's publication orders the
 *    table's writes before the receiver's reads.
 *  - Full (every slot taken, or no data room): new key lists are not shared; msgpackr writes their
 *    definitions inside each message, as without a table. Nothing is lost.
 *  - Everything read is validated (ref, lengths, UTF-8, checksum, duplicate keys): a bad table
 *    is CORRUPT, never a wrong key name.
 */
import { defineTag, ShmkitError } from '@shmkit/core';

export const STRUCTURES_BYTES = 8192;
export const STRUCTURE_SLOTS = 32;
/** Layout version of the table: its version word and its tag's version byte (docs/format.md). */
const VERSION = 1;
export const STRUCTURES_TAG = defineTag('st', 'msgpack structures', VERSION);
const W_TAG = 0;
const W_VERSION = 1;
const W_SLOTS = 2;
const W_DATA = 3;
const W_BUMP = 4;
const SLOT0 = 16;
const DATA_AT = 256;
const DATA_BYTES = STRUCTURES_BYTES - DATA_AT;
const RECORD_HEAD = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Initializes a zeroed table at `byteOffset` of `buffer` (the channel's creator, once). */
export function initStructures(buffer: SharedArrayBuffer, byteOffset: number): void {
  const w = new Int32Array(buffer, byteOffset, STRUCTURES_BYTES / 4);
  Atomics.store(w, W_VERSION, VERSION);
  Atomics.store(w, W_SLOTS, STRUCTURE_SLOTS);
  Atomics.store(w, W_DATA, DATA_BYTES);
  // release: the tag last; attach() checks it after the channel's own tag (published after this).
  Atomics.store(w, W_TAG, STRUCTURES_TAG);
}

/** One Channel object's access to the table. */
export class SharedStructures {
  private readonly w: Int32Array;
  private readonly u8: Uint8Array;
  /** The committed prefix of the table already read and validated (complete slots never change). */
  private readonly known: string[][] = [];
  /** Set once this sender found no room: new key lists then stay unshared. */
  full = false;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.w = new Int32Array(buffer, byteOffset, STRUCTURES_BYTES / 4);
    this.u8 = new Uint8Array(buffer, byteOffset, STRUCTURES_BYTES);
    const tag = Atomics.load(this.w, W_TAG);
    const version = Atomics.load(this.w, W_VERSION);
    if (tag !== STRUCTURES_TAG) throw corrupt('its tag is wrong');
    if (version !== VERSION) {
      throw new ShmkitError(
        'INCOMPATIBLE',
        `msgpack structures table version ${version}, this shmkit reads ${VERSION}`,
      );
    }
    if (Atomics.load(this.w, W_SLOTS) !== STRUCTURE_SLOTS || Atomics.load(this.w, W_DATA) !== DATA_BYTES) {
      throw corrupt('its geometry words are wrong');
    }
  }

  /**
   * The committed key lists, in slot order (a fresh outer array: msgpackr modifies it).
   *
   * `forMessage`: msgpackr asks while decoding, because a message names a record id it does not
   * know. Senders commit a slot before sending anything that names it, and the frame's publication
   * orders that commit before this read, so finding nothing new means the message or the table is
   * damaged: CORRUPT (msgpackr would otherwise read the id as a small integer).
   */
  load(forMessage = false): string[][] {
    const known = this.known;
    const before = known.length;
    for (let i = known.length; i < STRUCTURE_SLOTS; i++) {
      // acquire: pairs with the CAS that committed slot i; the record's bytes are visible after it.
      const ref = Atomics.load(this.w, SLOT0 + i);
      if (ref === 0) {
        // Slots fill in order: a filled slot after an empty one is damage.
        for (let j = i + 1; j < STRUCTURE_SLOTS; j++) {
          if (Atomics.load(this.w, SLOT0 + j) !== 0) throw corrupt(`slot ${i} is empty but slot ${j} is not`);
        }
        break;
      }
      known.push(this.readRecord(ref, i));
    }
    if (forMessage && known.length === before) {
      throw new ShmkitError(
        'CORRUPT',
        "a msgpack message names a record structure that the channel's table does not hold",
      );
    }
    return known.slice();
  }

  /**
   * Commits `structs` (msgpackr's shared structures: the table's prefix plus the ones this sender
   * just made). False when another sender took one of those slots with other keys (msgpackr then
   * reloads and encodes again) or when the table became full (new structures then stay unshared).
   */
  save(structs: readonly (readonly string[])[]): boolean {
    this.load();
    const known = this.known;
    const common = Math.min(known.length, structs.length);
    for (let i = 0; i < common; i++) if (!sameKeys(known[i]!, structs[i]!)) return false;
    for (let i = known.length; i < structs.length; i++) {
      const keys = structs[i]!;
      if (i >= STRUCTURE_SLOTS) return this.fill();
      const ref = this.writeRecord(keys);
      if (ref === 0) return this.fill();
      // release: publishes the record written above (seq_cst CAS); pairs with load()'s Atomics.load.
      const was = Atomics.compareExchange(this.w, SLOT0 + i, 0, ref);
      if (was !== 0) {
        // Another sender took slot i; the same keys are fine, others mean re-encoding.
        this.load();
        if (known.length <= i || !sameKeys(known[i]!, keys)) return false;
      } else {
        known.push([...keys]);
      }
    }
    return true;
  }

  private fill(): false {
    this.full = true;
    return false;
  }

  /** Writes `keys` as a record in fresh room; returns its ref, or 0 when the data area is full. */
  private writeRecord(keys: readonly string[]): number {
    const parts = keys.map((k) => encoder.encode(k));
    let len = 2;
    for (const p of parts) len += 2 + p.length;
    if (keys.length > 0xffff || parts.some((p) => p.length > 0xffff)) return 0;
    const size = (RECORD_HEAD + len + 7) & ~7;
    let at: number;
    for (;;) {
      const bump = Atomics.load(this.w, W_BUMP);
      if (bump < 0 || bump > DATA_BYTES || bump % 8 !== 0 || bump + size > DATA_BYTES) return 0;
      // Room is claimed before it is written: a sender dying after this leaks it, nothing more.
      if (Atomics.compareExchange(this.w, W_BUMP, bump, bump + size) === bump) {
        at = bump;
        break;
      }
    }
    const payload = new Uint8Array(len);
    payload[0] = keys.length & 0xff;
    payload[1] = keys.length >>> 8;
    let p = 2;
    for (const k of parts) {
      payload[p] = k.length & 0xff;
      payload[p + 1] = k.length >>> 8;
      payload.set(k, p + 2);
      p += 2 + k.length;
    }
    const dv = new DataView(this.u8.buffer, this.u8.byteOffset + DATA_AT + at, RECORD_HEAD);
    dv.setUint32(0, len, true);
    dv.setUint32(4, fnv1a(payload), true);
    this.u8.set(payload, DATA_AT + at + RECORD_HEAD);
    return at / 8 + 1;
  }

  /** Reads and validates the record of slot `i`; CORRUPT when anything is off. */
  private readRecord(ref: number, i: number): string[] {
    const at = (ref - 1) * 8;
    if (!(ref >= 1 && at + RECORD_HEAD <= DATA_BYTES)) throw corrupt(`slot ${i} points outside the table`);
    const dv = new DataView(this.u8.buffer, this.u8.byteOffset + DATA_AT + at, RECORD_HEAD);
    const len = dv.getUint32(0, true);
    if (len < 2 || at + RECORD_HEAD + len > DATA_BYTES) throw corrupt(`slot ${i} has a bad length`);
    // A private copy: the checksum and the keys are judged on bytes nobody can change meanwhile.
    const payload = this.u8.slice(DATA_AT + at + RECORD_HEAD, DATA_AT + at + RECORD_HEAD + len);
    if (fnv1a(payload) !== dv.getUint32(4, true)) throw corrupt(`slot ${i} fails its checksum`);
    const count = payload[0]! | (payload[1]! << 8);
    const keys: string[] = [];
    let p = 2;
    for (let k = 0; k < count; k++) {
      if (p + 2 > len) throw corrupt(`slot ${i} is truncated`);
      const n = payload[p]! | (payload[p + 1]! << 8);
      if (p + 2 + n > len) throw corrupt(`slot ${i} is truncated`);
      let key: string;
      try {
        key = decoder.decode(payload.subarray(p + 2, p + 2 + n));
      } catch {
        throw corrupt(`slot ${i} holds a key that is not UTF-8`);
      }
      keys.push(key);
      p += 2 + n;
    }
    if (p !== len) throw corrupt(`slot ${i} has trailing bytes`);
    if (new Set(keys).size !== keys.length) throw corrupt(`slot ${i} repeats a key`);
    return keys;
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function corrupt(why: string): ShmkitError {
  return new ShmkitError('CORRUPT', `the channel's msgpack structures table is corrupt: ${why}`);
}
