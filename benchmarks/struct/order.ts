/**
 * The ~100-byte object of benchmarks/struct.ts, shared by the main thread and its worker: the
 * struct type, how message i is made, and how it is checked (every field, every message). Also
 * the two one-field structs of the ping-pong (ping-pong.ts).
 */
import { type Codegen, type StructType, type StructValue, struct } from '@shmkit/struct';

/** The Order struct (docs/struct.md's example); `codegen` as StructOptions (scenario 3 compares them). */
export function orderStruct(codegen: Codegen = 'auto') {
  return struct(
    { id: 'u32', qty: 'i32', price: 'f64', side: 'u8', ts: 'i64', symbol: 'utf8:12', levels: 'f64[4]' },
    { name: 'Order', codegen },
  );
}

export const Order = orderStruct();
export type OrderValue = StructValue<typeof Order extends StructType<infer S> ? S : never>;

/** ping and pong 128 bytes apart: each side writes its own cache line. */
export const Ping = struct({ ping: 'f64', pad: 'f64[15]', pong: 'f64' }, { name: 'Ping' });
export const PingInt = struct({ ping: 'i32', pad: 'i32[31]', pong: 'i32' }, { name: 'PingInt' });

const SYMBOLS = ['ACME', 'GLOBEX', 'INITECH', 'UMBRELLA', 'HOOLI', 'STARK', 'WAYNE', 'WONKA'];
const T0 = 1_764_000_000_000n;

/** Message i: a new object, as an application would build it. */
export function makeOrder(i: number): OrderValue {
  const l = i * 0.5;
  return {
    id: i,
    qty: (i % 1000) - 500,
    price: 100 + (i % 997) * 0.25,
    side: i & 1,
    ts: T0 + BigInt(i),
    symbol: SYMBOLS[i & 7]!,
    levels: [l, l + 1, l + 2, l + 3],
  };
}

/** Throws unless `o` is exactly message i. */
export function checkOrder(o: OrderValue, i: number): void {
  const l = i * 0.5;
  const lv = o.levels;
  if (
    o.id !== i ||
    o.qty !== (i % 1000) - 500 ||
    o.price !== 100 + (i % 997) * 0.25 ||
    o.side !== (i & 1) ||
    o.ts !== T0 + BigInt(i) ||
    o.symbol !== SYMBOLS[i & 7] ||
    lv.length !== 4 ||
    lv[0] !== l ||
    lv[1] !== l + 1 ||
    lv[2] !== l + 2 ||
    lv[3] !== l + 3
  ) {
    throw new Error(
      `message ${i} is wrong (lost, reordered or damaged): ${JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
    );
  }
}
