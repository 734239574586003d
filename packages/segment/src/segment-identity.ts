/**
 * The `futex` memory kind of this thread: the futex waiter, and for each mapped segment the
 * identity (thread table) that lives in its header.
 *
 * A handle posted to a worker arrives there with a new SharedArrayBuffer object over the same
 * memory, so identities are found from the buffer itself: the first time this thread sees a
 * buffer, it reads the segment header at offset 0, validates it, wraps the thread table in a
 * ProcessIdentity and remembers it (weakly: the mapping can still be collected). That is what
 * lets `Mutex.from(seg.mutex('m').handle)` work in any thread that imported @shmkit/segment.
 */
import { type Identity, type MemoryKind, ShmkitError } from '@shmkit/core';
import { futexWaiter } from './futex-waiter.js';
import { FIXED_HEADER_BYTES, MAGIC, readHeader, W_MAGIC } from './header.js';
import { ProcessIdentity } from './process-identity.js';

const identities = new WeakMap<SharedArrayBuffer, ProcessIdentity>();

/**
 * The identity of the threads sharing the segment mapped in `buffer`; undefined when `buffer`
 * holds no (complete) segment header. CORRUPT or INCOMPATIBLE when it holds a bad one.
 */
export function segmentIdentity(buffer: SharedArrayBuffer): ProcessIdentity | undefined {
  const known = identities.get(buffer);
  if (known !== undefined) return known;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < FIXED_HEADER_BYTES) return undefined;
  const header = new Int32Array(buffer, 0, FIXED_HEADER_BYTES / 4);
  if (Atomics.load(header, W_MAGIC) !== MAGIC) return undefined;
  const h = readHeader(header, buffer.byteLength, 'the segment behind this handle');
  const id = new ProcessIdentity(
    new Int32Array(buffer, h.tableOffset, ProcessIdentity.bytesFor(h.threads) / 4),
  );
  identities.set(buffer, id);
  return id;
}

/** Records the identity of a segment this thread is creating (its header is not published yet). */
export function adoptSegmentIdentity(buffer: SharedArrayBuffer, id: ProcessIdentity): void {
  identities.set(buffer, id);
}

/**
 * The identity of futex memory outside any segment (a file mapped with createMappedFile): there
 * is no thread table to take a token from, so locking there is refused with a clear error.
 */
const noTable: Identity = {
  self() {
    throw new ShmkitError(
      'UNSUPPORTED',
      'this object lives in mapped memory that is not a shmkit Segment, so there is no thread table to name ' +
        'lock owners: create it with Segment (seg.mutex(key), ...), or register a ProcessIdentity for it with registerMemoryKind',
    );
  },
  isAlive: () => true,
  livenessSliceMs: Number.POSITIVE_INFINITY,
};

/** What @shmkit/segment registers as the `futex` memory kind in every thread that imports it. */
export const futexMemoryKind: MemoryKind = {
  waiter: futexWaiter,
  identity: noTable,
  identityFor: segmentIdentity,
};

/** Open Segment objects of this thread, per segment id: the thread's slot goes when the last closes. */
const openSegments = new Map<string, number>();

/** Counts one more open Segment object of segment `id` in this thread. */
export function retainThreadSlot(id: string): void {
  openSegments.set(id, (openSegments.get(id) ?? 0) + 1);
}

/** Counts one fewer; when none is left, gives this thread's slot of the table back. */
export function releaseThreadSlot(id: string, identity: ProcessIdentity): void {
  const n = (openSegments.get(id) ?? 1) - 1;
  if (n > 0) {
    openSegments.set(id, n);
    return;
  }
  openSegments.delete(id);
  identity.release();
}
