/**
 * The struct layout of backend `shmkit-thread-struct`: objects through a Channel with a struct
 * codec (@shmkit/struct) between the main thread and a worker. The session and the peer are every
 * Channel backend's (ChannelSession in session-channel.ts, ChannelPeer in peer.ts); only the codec
 * differs (wire.ts, channelCodec). The objects are the built-in payload's (payload.ts,
 * builtinObject), in the same envelope `{ seq, body }` as every other backend; the struct below
 * is their fixed layout, so each message is written straight into the ring and read straight out.
 * A user payload that does not fit this layout is skipped with a reason (fidelity check), as JSON
 * skips what it cannot carry. It carries objects only: measure() runs it for object payloads
 * (a bytes run would be shmkit-thread again; its session still takes one, through the bytes codec).
 */
import { struct } from '@shmkit/struct';

const ID = 'shmkit-thread-struct';

const Item = struct({ sku: 'utf8:8', title: 'utf8:40', qty: 'u32', unitPrice: 'f64' }, { name: 'Item' });
const Customer = struct(
  { id: 'u32', name: 'utf8:32', email: 'utf8:48', tier: 'utf8:8' },
  { name: 'Customer' },
);
const Address = struct(
  { street: 'utf8:32', city: 'utf8:16', zip: 'utf8:10', country: 'utf8:2' },
  { name: 'Address' },
);
const Shipping = struct({ method: 'utf8:8', address: Address }, { name: 'Shipping' });
const Body = struct(
  {
    type: 'utf8:16',
    id: 'utf8:12',
    createdAt: 'utf8:24',
    customer: Customer,
    items: [Item, 3],
    total: 'f64',
    currency: 'utf8:4',
    shipping: Shipping,
    paid: 'bool',
    coupon: 'utf8:12?',
    tags: 'utf8:8[2]',
  },
  { name: 'Order' },
);
/** The envelope of every object message, as a struct. */
export const StructEnvelope = struct({ seq: 'u32', body: Body }, { name: 'Envelope' });

/** Why `pool` cannot travel as StructEnvelope unchanged, or undefined when it can. */
export function structFidelityProblem(
  pool: readonly unknown[],
  print: (v: unknown) => string,
): string | undefined {
  const c = StructEnvelope.codec;
  for (const body of pool) {
    try {
      const back = c.decode(c.encode({ seq: 0, body } as never)) as { body: unknown };
      if (print(back.body) === print(body)) continue;
    } catch {
      // falls through
    }
    return `${ID} carries the built-in object only (its struct layout is fixed); this payload does not fit it`;
  }
  return undefined;
}
