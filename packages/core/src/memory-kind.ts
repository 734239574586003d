import { ShmkitError } from './errors.js';
import { heapWaiter } from './heap-waiter.js';
import { heapIdentity, type Identity } from './identity.js';
import type { MemoryKindName, Waiter } from './waiter.js';

/** What a kind of memory needs: how to wait on its words and who its threads are. */
export interface MemoryKind {
  readonly waiter: Waiter;
  /** The identity used when {@link identityFor} is absent or returns undefined. */
  readonly identity: Identity;
  /**
   * The identity of the threads sharing `buffer`, when it depends on the buffer (each mapped
   * segment keeps its own thread table). Handles stay plain data: the identity is found again
   * from the buffer in every thread that attaches.
   */
  identityFor?(buffer: SharedArrayBuffer): Identity | undefined;
}

const kinds = new Map<MemoryKindName, MemoryKind>([['heap', { waiter: heapWaiter, identity: heapIdentity }]]);

/**
 * Installs the implementation of a memory kind. @shmkit/segment registers `futex` when its native
 * addon loads; core, sync and channel never load native code themselves.
 */
export function registerMemoryKind(kind: MemoryKindName, impl: MemoryKind): void {
  kinds.set(kind, impl);
}

/** The implementation of `kind`; UNSUPPORTED when it is not installed in this thread. */
export function memoryKind(kind: MemoryKindName): MemoryKind {
  const k = kinds.get(kind);
  if (k === undefined) {
    throw new ShmkitError(
      'UNSUPPORTED',
      kind === 'futex'
        ? "this object lives in a memory-mapped segment: import '@shmkit/segment' in this thread before attaching it"
        : `unknown memory kind ${JSON.stringify(kind)}`,
    );
  }
  return k;
}
