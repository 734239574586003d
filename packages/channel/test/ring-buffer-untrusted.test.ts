// RingBuffer against untrusted memory and careless callers: out-of-range indices, damaged or
// missing headers (a buffer sized by ringbuf.js), impossible `min`, and a seeded corruption fuzz
// whose every outcome must be a valid state or a ShmkitError, with canaries around the caller's
// arrays and the header's constant words.
//
// Reproduce a fuzz failure: SHMKIT_FUZZ_SEED=<seed> npx vitest run packages/channel/test/ring-buffer-untrusted.test.ts

import { RingBuffer, type TypedArray, type TypedArrayConstructor } from '@shmkit/channel';
import { ShmkitError } from '@shmkit/core';
import fc from 'fast-check';
import { RingBuffer as RingBufJs } from 'ringbuf.js';
import { describe, expect, it } from 'vitest';
import { asyncCodeOf, codeOf } from '../../../test/helpers/errors.js';

// Word indices of the header, as docs/format.md lists them.
const TAG = 0;
const VERSION = 1;
const SLOTS = 2;
const TYPE = 3;
const RESERVED_A = 4; // reserved words: no effect, whatever they hold
const RESERVED_B = 5;
const LAST_ID = 6;
const WRITE = 32;
const PRODUCER = 33;
const READ = 64;
const CONSUMER = 65;
const HEADER_WORDS = 96;

function ring<T extends TypedArrayConstructor>(
  capacity: number,
  type: T,
): { rb: RingBuffer; words: Int32Array } {
  const sab = RingBuffer.getStorageForCapacity(capacity, type);
  return { rb: new RingBuffer(sab, type), words: new Int32Array(sab, 0, HEADER_WORDS) };
}

/** Every operation a peer can run on a ring, each given fresh arrays of the ring's type. */
function everyOperation(rb: RingBuffer, type: TypedArrayConstructor): Array<[string, () => unknown]> {
  const make = (n: number): TypedArray => new type(n);
  return [
    ['push', () => rb.push(make(3))],
    ['pop', () => rb.pop(make(3))],
    ['writeCallback', () => rb.writeCallback(2, () => 0)],
    ['writeCallbackWithOffset', () => rb.writeCallbackWithOffset(2, () => 0)],
    ['empty', () => rb.empty()],
    ['full', () => rb.full()],
    ['availableRead', () => rb.availableRead()],
    ['availableWrite', () => rb.available_write()],
    ['pushBlocking', () => rb.pushBlocking(make(1), { timeout: 0 })],
    ['popBlocking', () => rb.popBlocking(make(1), { timeout: 0 })],
    ['push again', () => rb.push(make(1))],
    ['pop again', () => rb.pop(make(1))],
  ];
}

describe('RingBuffer with untrusted memory', () => {
  const bad = [-17, -1, 9, 10, 1000, 0x7fffffff, -0x80000000];

  for (const type of [Float32Array, BigInt64Array] as const) {
    for (const [word, name] of [
      [WRITE, 'write'],
      [READ, 'read'],
    ] as const) {
      it(`gives CORRUPT, and moves nothing, for a ${name} index out of range (${type.name})`, async () => {
        for (const v of bad) {
          const { rb, words } = ring(8, type); // 9 slots: 9 and up are out of range
          rb.push(new type(2) as never);
          rb.pop(new type(1) as never);
          const sab = words.buffer as SharedArrayBuffer;
          // Attached before the damage, never used: it has nothing current cached, so every
          // operation must read the bad word.
          const other = new RingBuffer(sab, type);
          const before = words[word === WRITE ? READ : WRITE];
          words[word] = v;
          for (const [op, run] of everyOperation(other, type)) {
            expect([op, v, codeOf(run)]).toEqual([op, v, 'CORRUPT']);
          }
          expect(await asyncCodeOf(other.popAsync(new type(1) as never, { timeout: 0 }))).toBe('CORRUPT');
          expect(await asyncCodeOf(other.pushAsync(new type(1) as never, { timeout: 0 }))).toBe('CORRUPT');
          expect(codeOf(() => new RingBuffer(sab, type))).toBe('CORRUPT');
          // The object that moved the ring last may go on from what it cached, but every path of
          // it that reads the bad word says CORRUPT.
          expect(codeOf(() => rb.availableRead())).toBe('CORRUPT');
          expect(words[word]).toBe(v);
          expect(words[word === WRITE ? READ : WRITE]).toBe(before);
        }
      });
    }
  }

  it('refuses storage made by ringbuf.js, naming the allocator to use', () => {
    const theirs = RingBufJs.getStorageForCapacity(1024, Float32Array);
    let error: unknown;
    try {
      new RingBuffer(theirs, Float32Array);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ShmkitError);
    expect(error).toMatchObject({ code: 'INCOMPATIBLE' });
    expect(String((error as Error).message)).toMatch(/RingBuffer\.getStorageForCapacity.*@shmkit\/channel/);
    // Also after ringbuf.js has used it (its indices in words 0 and 1), and for a plain buffer.
    new RingBufJs(theirs, Float32Array).push(new Float32Array(930));
    expect(codeOf(() => new RingBuffer(theirs, Float32Array))).toBe('INCOMPATIBLE');
    expect(codeOf(() => new RingBuffer(new SharedArrayBuffer(4096), Float32Array))).toBe('INCOMPATIBLE');
    expect(codeOf(() => new RingBuffer(new SharedArrayBuffer(16), Float32Array))).toBe('INCOMPATIBLE');
  });

  it('checks the header: another layout version is INCOMPATIBLE, a damaged one CORRUPT', () => {
    const cases: Array<[number, number, string]> = [
      [VERSION, 2, 'INCOMPATIBLE'],
      [VERSION, 0, 'INCOMPATIBLE'],
      [TYPE, 6, 'INCOMPATIBLE'], // Int32Array: another element type
      [TYPE, 0, 'CORRUPT'],
      [TYPE, 99, 'CORRUPT'],
      [SLOTS, 8, 'CORRUPT'],
      [SLOTS, 10, 'CORRUPT'],
      [SLOTS, -1, 'CORRUPT'],
      [SLOTS, 0x7fffffff, 'CORRUPT'],
      [TAG, 0, 'INCOMPATIBLE'],
    ];
    for (const [word, value, code] of cases) {
      const { words } = ring(8, Float32Array);
      words[word] = value;
      expect([
        word,
        value,
        codeOf(() => new RingBuffer(words.buffer as SharedArrayBuffer, Float32Array)),
      ]).toEqual([word, value, code]);
    }
    const { rb } = ring(8, Float32Array);
    expect(codeOf(() => RingBuffer.from({ ...rb.handle, elementType: 'Int32Array' }))).toBe('INCOMPATIBLE');
  });

  it('refuses a popBlocking / popAsync min above the capacity at once, without waiting', async () => {
    const { rb } = ring(16, Uint8Array);
    const out = new Uint8Array(64);
    // No timeout: a wait would never end, so a pass shows the refusal came first.
    expect(codeOf(() => rb.popBlocking(out, { min: 17 }))).toBe('INVALID_ARGUMENT');
    expect(await asyncCodeOf(rb.popAsync(out, { min: 17 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rb.popBlocking(out, { min: 1.5, timeout: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rb.popBlocking(out, { min: -1, timeout: 0 }))).toBe('INVALID_ARGUMENT');
    rb.push(new Uint8Array(16));
    expect(rb.popBlocking(out, { min: 16, timeout: 1000 })).toBe(16);
  });

  it('refuses bad offsets and lengths, and never reads or writes past the caller array', () => {
    const { rb } = ring(16, BigInt64Array);
    const src = new BigInt64Array([1n, 2n, 3n]);
    expect(codeOf(() => rb.push(src, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rb.push(src, 1.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rb.push(src, 1, 4))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rb.push(src, 1, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rb.push(new Float64Array(2) as never))).toBe('INVALID_ARGUMENT'); // numbers into bigints
    expect(codeOf(() => rb.writeCallback(-1, () => 0))).toBe('INVALID_ARGUMENT');
    // A length past the end stops at the end (ringbuf.js would read undefined: a TypeError here).
    expect(rb.push(src, 10, 1)).toBe(2);
    const backing = new BigInt64Array(8).fill(-7n);
    const out = backing.subarray(2, 4); // canaries at 0-1 and 4-7
    expect(rb.pop(out, 10)).toBe(2);
    expect(Array.from(backing)).toEqual([-7n, -7n, 2n, 3n, -7n, -7n, -7n, -7n]);
  });

  const seed = Number(process.env.SHMKIT_FUZZ_SEED ?? 0x5eed4b);
  const runs = Number(process.env.SHMKIT_FUZZ_RUNS ?? 400);

  it(`gives a valid state or a ShmkitError whatever header word or byte is overwritten (seed ${seed}, ${runs} cases)`, () => {
    const outcomes: Record<string, number> = {};
    const capacity = fc.integer({ min: 1, max: 40 });
    const value = (slots: number) =>
      fc.oneof(
        fc.integer({ min: -3, max: slots + 3 }),
        fc.constantFrom(-0x80000000, 0x7fffffff, -1, slots, slots - 1),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      );
    const word = fc.constantFrom(
      TAG,
      VERSION,
      SLOTS,
      TYPE,
      RESERVED_A,
      RESERVED_B,
      LAST_ID,
      WRITE,
      PRODUCER,
      READ,
      CONSUMER,
      WRITE,
      READ,
    );
    const step = fc.oneof(
      fc.record({ kind: fc.constant('word' as const), word }),
      fc.record({ kind: fc.constant('byte' as const), at: fc.nat(383), v: fc.nat(255) }),
      fc.record({
        kind: fc.constantFrom('push', 'pop', 'cb', 'cbo', 'pushB', 'popB', 'query', 'attach'),
        who: fc.nat(1),
        n: fc.nat(45),
      }),
    );
    fc.assert(
      fc.property(
        capacity.chain((c) =>
          fc.tuple(
            fc.constant(c),
            fc.array(fc.tuple(step, value(c + 1)), { maxLength: 40 }),
            fc.constantFrom(Float32Array, Uint8Array, BigUint64Array),
          ),
        ),
        ([capacity, steps, type]) => {
          const sab = RingBuffer.getStorageForCapacity(capacity, type);
          const words = new Int32Array(sab, 0, HEADER_WORDS);
          const constant = Array.from(words.subarray(0, 4));
          const objects = [new RingBuffer(sab, type), new RingBuffer(sab, type)];
          let headerTouched = false;
          const zero = (type === BigUint64Array ? 0n : 0) as never;
          const mark = (type === BigUint64Array ? 77n : 77) as never;
          for (const [s, v] of steps) {
            if (s.kind === 'word') {
              words[s.word] = v;
              if (s.word < 4) headerTouched = true;
              continue;
            }
            if (s.kind === 'byte') {
              new Uint8Array(sab)[s.at] = s.v;
              if (s.at < 16) headerTouched = true;
              continue;
            }
            const rb = objects[s.who]!;
            // The caller's array sits between canaries.
            const backing = new type(s.n + 8).fill(mark);
            const arr = backing.subarray(4, 4 + s.n) as TypedArray;
            arr.fill(zero);
            let result: unknown;
            try {
              switch (s.kind) {
                case 'push':
                  result = rb.push(arr);
                  break;
                case 'pop':
                  result = rb.pop(arr);
                  break;
                case 'cb':
                  result = rb.writeCallback(s.n, (a, b) => {
                    expect(a.length + b.length).toBeLessThanOrEqual(capacity);
                    return 0;
                  });
                  break;
                case 'cbo':
                  result = rb.writeCallbackWithOffset(s.n, (st, o1, n1, o2, n2) => {
                    expect(o1 + n1).toBeLessThanOrEqual(st.length);
                    expect(o2 + n2).toBeLessThanOrEqual(o1);
                    return 0;
                  });
                  break;
                case 'pushB':
                  result = rb.pushBlocking(arr, { timeout: 0 });
                  break;
                case 'popB':
                  result = rb.popBlocking(arr, { timeout: 0, min: Math.min(s.n, capacity) });
                  break;
                case 'query': {
                  const r = rb.availableRead();
                  const w = rb.availableWrite();
                  expect(r).toBeGreaterThanOrEqual(0);
                  expect(w).toBeGreaterThanOrEqual(0);
                  expect(r + w).toBe(capacity);
                  expect(rb.empty()).toBe(r === 0);
                  expect(rb.full()).toBe(w === 0);
                  result = r;
                  break;
                }
                case 'attach':
                  objects[s.who] = new RingBuffer(sab, type);
                  result = objects[s.who]!.capacity();
                  break;
              }
            } catch (e) {
              if (!(e instanceof ShmkitError)) throw e;
              const allowed = s.kind === 'attach' ? ['CORRUPT', 'INCOMPATIBLE'] : ['CORRUPT', 'TIMEOUT'];
              expect(allowed).toContain(e.code);
              outcomes[e.code] = (outcomes[e.code] ?? 0) + 1;
              continue;
            }
            outcomes.ok = (outcomes.ok ?? 0) + 1;
            if (typeof result === 'number') {
              expect(result).toBeGreaterThanOrEqual(0);
              expect(result).toBeLessThanOrEqual(Math.max(s.n, capacity));
            }
            for (let i = 0; i < 4; i++) expect(backing[i]).toBe(mark);
            for (let i = 4 + s.n; i < backing.length; i++) expect(backing[i]).toBe(mark);
            // A successful operation that moved its index left it in range...
            const moved = { push: WRITE, cb: WRITE, cbo: WRITE, pushB: WRITE, pop: READ, popB: READ }[
              s.kind as string
            ];
            if (moved !== undefined && result !== 0) expect(words[moved]! >>> 0).toBeLessThan(capacity + 1);
            // ... and never writes the constant header words itself.
            if (!headerTouched) expect(Array.from(words.subarray(0, 4))).toEqual(constant);
          }
        },
      ),
      { seed, numRuns: runs },
    );
    // Both outcomes happened: the fuzz reached corrupt states and valid ones.
    expect(outcomes.ok ?? 0).toBeGreaterThan(0);
    expect(outcomes.CORRUPT ?? 0).toBeGreaterThan(0);
  });
});
