/**
 * The RingBuffer implementations benchmarks/ring-buffer.ts compares, and how each is loaded: its
 * module, and its own copy of the loops (loops.ts?impl=<name>, see there). Shared by the main
 * thread and the worker.
 */
import type { PushPop } from './loops.js';

export interface Impl {
  readonly name: string;
  readonly url: string;
}

export interface RingClass {
  getStorageForCapacity(capacity: number, type: Float32ArrayConstructor): SharedArrayBuffer;
  new (sab: SharedArrayBuffer, type: Float32ArrayConstructor): PushPop & { capacity(): number };
}

export type Loops = typeof import('./loops.js');

const loaded = new Map<string, { RingBuffer: RingClass; loops: Loops }>();

/** The implementation's RingBuffer class and its own copy of the loops, loaded once. */
export async function load(impl: Impl): Promise<{ RingBuffer: RingClass; loops: Loops }> {
  let m = loaded.get(impl.name);
  if (m === undefined) {
    const [mod, loops] = await Promise.all([
      import(impl.url) as Promise<{ RingBuffer: RingClass }>,
      import(
        new URL(`./loops.ts?impl=${encodeURIComponent(impl.name)}`, import.meta.url).href
      ) as Promise<Loops>,
    ]);
    m = { RingBuffer: mod.RingBuffer, loops };
    loaded.set(impl.name, m);
  }
  return m;
}
