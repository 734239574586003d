// Types of loops.mjs (plain JavaScript, so that a worker can load it without a TypeScript loader).

/** The part of ringbuf.js's RingBuffer API the loops use. */
export interface PushPop {
  push(elements: Float32Array, length?: number, offset?: number): number;
  pop(elements: Float32Array, length?: number, offset?: number): number;
}

export function produce(rb: PushPop, n: number, chunk: number, deadline: number): void;
export function consume(rb: PushPop, n: number, chunk: number, deadline: number): number;
export function alternate(rb: PushPop, n: number, chunk: number): number;
export function expectedSum(n: number): number;
