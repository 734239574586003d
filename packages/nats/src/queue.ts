/**
 * The receive buffer of a NatsChannel: messages that arrived from the server and wait for
 * recvAsync, in arrival order. Bounded by its owner (core mode drops past `limit`; durable mode
 * is bounded by the consumer's max_ack_pending on the server). One event loop touches it, so
 * there is nothing to synchronize; waiters are promises woken on push, end and failure.
 */
export class ReceiveQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private waiters: (() => void)[] = [];
  /** Set once no message will be pushed any more (end of stream seen, or detached). */
  ended = false;
  /** Set when receiving failed for good; recv rethrows it once the queue is drained. */
  failure: Error | undefined;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  /** Puts `items` back at the head, in their order (a hand-over that could not complete). */
  unshift(items: readonly T[]): void {
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
    this.wake();
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact now and then so the array does not grow with the total count.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Everything still queued, removed from the queue (for returning unread messages). */
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(e: Error): void {
    if (this.failure === undefined) this.failure = e;
    this.wake();
  }

  /** Resolves on the next push, end or failure. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const f of w) f();
  }
}
