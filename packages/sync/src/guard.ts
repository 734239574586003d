/**
 * What `acquire()` returns: releases the lock when disposed, so `using _ = m.acquire()` unlocks
 * at the end of the block even when it throws. Releasing twice is a no-op.
 */
export class Guard implements Disposable {
  private release: (() => void) | undefined;

  constructor(release: () => void) {
    this.release = release;
  }

  /** Releases now; later calls (and the dispose at the end of a `using` block) do nothing. */
  unlock(): void {
    const r = this.release;
    this.release = undefined;
    r?.();
  }

  [Symbol.dispose](): void {
    this.unlock();
  }
}
