// Types of struct-order.mjs (plain JavaScript, so the benchmark's worker can import it as is).
import type { StructType } from '@shmkit/struct';

type OrderSchema = {
  readonly id: 'u32';
  readonly qty: 'i32';
  readonly price: 'f64';
  readonly side: 'u8';
  readonly ts: 'i64';
  readonly symbol: 'utf8:12';
  readonly levels: 'f64[4]';
};
export const Order: StructType<OrderSchema>;
export const Ping: StructType<{ readonly ping: 'f64'; readonly pad: 'f64[15]'; readonly pong: 'f64' }>;
export const PingInt: StructType<{ readonly ping: 'i32'; readonly pad: 'i32[31]'; readonly pong: 'i32' }>;
export interface OrderValue {
  id: number;
  qty: number;
  price: number;
  side: number;
  ts: bigint;
  symbol: string;
  levels: number[];
}
export function makeOrder(i: number): OrderValue;
export function checkOrder(o: OrderValue, i: number): void;
