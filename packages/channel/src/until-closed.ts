/**
 * The async iteration every channel-like object offers (`for await (const m of ch)`), written once
 * for Channel and for the channels of other packages (@shmkit/nats).
 */
import { ShmkitError } from '@shmkit/core';

/**
 * Yields what `recv` resolves to, call after call, until it rejects with CLOSED (then it ends);
 * any other error propagates. A channel's `[Symbol.asyncIterator]` is `untilClosed(() => this.recvAsync())`.
 *
 * @example
 * ```ts fragment
 * for await (const m of untilClosed(() => ch.recvAsync({ timeout: 1000 }))) console.log(m);
 * ```
 */
export async function* untilClosed<T>(recv: () => Promise<T>): AsyncGenerator<T, void, undefined> {
  for (;;) {
    try {
      yield await recv();
    } catch (e) {
      if (ShmkitError.is(e, 'CLOSED')) return;
      throw e;
    }
  }
}
