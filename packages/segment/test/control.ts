/**
 * The parent's side of the Segment tests' child processes (fixtures/segment-child.mjs): the
 * control block they coordinate through, starting them together, and views of a segment's words.
 */
import { futexWaiter, openMappedFile, type Segment } from '@shmkit/segment';
import { type Child, startChild, waitWhile } from './helpers.js';

/** Bytes of every test segment (unless a test needs another size). */
export const SIZE = 1 << 20;

// Words of the control block bytes('ctl', 64) shared with fixtures/segment-child.mjs.
const ARRIVALS = 0;
const GO = 1;
export const READY = 2;

/** The control block of `seg` (created on first use, zeroed). */
export function control(seg: Segment): Int32Array {
  return words(seg, 'ctl', 64);
}

/** The byte region `key` of `bytes` bytes, as int32 words. */
export function words(seg: Segment, key: string, bytes: number): Int32Array {
  const b = seg.bytes(key, bytes);
  return new Int32Array(b.buffer, b.byteOffset, bytes / 4);
}

/** Waits (bounded) until `n` children checked in, then lets them all go at once. */
export async function startTogether(ctl: Int32Array, n: number): Promise<void> {
  for (let arrived = Atomics.load(ctl, ARRIVALS); arrived < n; arrived = Atomics.load(ctl, ARRIVALS)) {
    await waitWhile(ctl, ARRIVALS, arrived);
  }
  Atomics.store(ctl, GO, 1);
  futexWaiter.notify(ctl, GO, Number.POSITIVE_INFINITY);
}

/** Blocks this thread (bounded) until a child sets the READY word. */
export function waitReady(ctl: Int32Array): void {
  const end = performance.now() + 20_000;
  while (Atomics.load(ctl, READY) === 0) {
    if (performance.now() > end) throw new Error('the child never got ready');
    futexWaiter.wait(ctl, READY, 0, 100);
  }
}

/** The raw header words of a segment's file, through a mapping of its own. */
export function rawHeader(seg: Segment): Int32Array {
  return new Int32Array(openMappedFile(seg.path).buffer!);
}

/** Options of the fixture's `produce` task. */
export interface ProduceOptions {
  /** This producer's id (the first word of its messages). */
  readonly id?: number;
  /** Messages to send. */
  readonly n: number;
  readonly capacity: number;
  readonly producers?: 'one' | 'many';
  /** Whether the child closes its Segment before it exits (default: it keeps it open). */
  readonly closeSegment?: boolean;
  /** Whether the child checks in and waits for {@link startTogether} (default: it starts at once). */
  readonly waitForGo?: boolean;
}

/**
 * A child sending `n` self-checking messages on seg.channel('c') (see the fixture's `message`),
 * that prints `{ id, sum }` when done.
 */
export function startProducer(seg: Segment, o: ProduceOptions): Child {
  return startChild('segment-child.mjs', [
    'produce',
    seg.name,
    String(o.id ?? 0),
    String(o.n),
    String(o.capacity),
    o.producers ?? 'one',
    o.closeSegment ? 'close-segment' : 'keep',
    o.waitForGo ? 'go' : 'no-go',
  ]);
}
