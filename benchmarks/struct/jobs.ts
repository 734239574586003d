/** The jobs of benchmarks/struct.ts's worker (struct/worker.ts), and the codec of each Channel variant. */
import { type ChannelHandle, msgpackCodec } from '@shmkit/channel';
import { Order } from './order.js';
import type { PingKind } from './ping-pong.js';

export type ChannelCodec = 'struct' | 'msgpack' | 'msgpack-plain';

export type StructJob =
  | { kind: 'postmessage'; n: number; ack: SharedArrayBuffer }
  | { kind: 'channel'; n: number; handle: ChannelHandle; codec: ChannelCodec }
  | { kind: PingKind; n: number; sab: SharedArrayBuffer };

/** The codec of each Channel variant (the main thread creates the channel with the same). */
export function channelCodec(codec: ChannelCodec) {
  return codec === 'struct' ? Order.codec : codec === 'msgpack' ? ('msgpack' as const) : msgpackCodec();
}
