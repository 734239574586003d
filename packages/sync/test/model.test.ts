// Single-thread model checks: random operation sequences against a plain model (fast-check prints
// the seed and the shrunk sequence on failure).
import { Latch, Semaphore } from '@shmkit/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('Semaphore model', () => {
  it('tracks the count exactly and refuses what would leave [0, max]', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('take' as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('give' as const), n: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(op, { maxLength: 60 }), (initial, ops) => {
        const max = 5;
        const s = new Semaphore(initial, { max });
        let model = initial;
        for (const o of ops) {
          if (o.kind === 'take') {
            const ok = s.tryAcquire(o.n);
            expect(ok).toBe(model >= o.n);
            if (ok) model -= o.n;
          } else if (model + o.n > max) {
            expect(() => s.release(o.n)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
          } else {
            s.release(o.n);
            model += o.n;
          }
          expect(s.value).toBe(model);
        }
      }),
    );
  });
});

describe('Latch model', () => {
  it('counts down to zero and never below', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 30 }),
        (n, downs) => {
          const l = new Latch(n);
          let model = n;
          for (const d of downs) {
            if (d > model)
              expect(() => l.countDown(d)).toThrowError(
                expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
              );
            else {
              l.countDown(d);
              model -= d;
            }
            expect(l.count).toBe(model);
            expect(l.tryWait()).toBe(model === 0);
          }
        },
      ),
    );
  });
});
