import { invalidArgument, ShmkitError } from './errors.js';
import type { Identity } from './identity.js';
import { memoryKind } from './memory-kind.js';
import type { MemoryKindName, Waiter } from './waiter.js';

/**
 * A byte range of a SharedArrayBuffer together with how its words are waited on. Every shared
 * object lives in one region; `new X()` allocates a heap region of its own, @shmkit/segment hands
 * out futex regions of a mapped segment, and a caller may place objects in a buffer of its own.
 *
 * @example
 * ```ts
 * const sab = new SharedArrayBuffer(1024);
 * const m = new Mutex({ region: new Region(sab, 0, Mutex.SIZE) });
 * ```
 */
export class Region {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly kind: MemoryKindName;

  constructor(buffer: SharedArrayBuffer, byteOffset = 0, byteLength?: number, kind: MemoryKindName = 'heap') {
    if (!(buffer instanceof SharedArrayBuffer)) invalidArgument('a region needs a SharedArrayBuffer');
    const length = byteLength ?? buffer.byteLength - byteOffset;
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0) {
      invalidArgument(`region offset must be a non-negative multiple of 8, got ${byteOffset}`);
    }
    if (!Number.isSafeInteger(length) || length < 0 || byteOffset + length > buffer.byteLength) {
      invalidArgument(
        `region [${byteOffset}, +${length}) does not fit in a buffer of ${buffer.byteLength} bytes`,
      );
    }
    if (kind !== 'heap' && kind !== 'futex') invalidArgument(`unknown memory kind ${String(kind)}`);
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.byteLength = length;
    this.kind = kind;
  }

  /** A fresh zeroed heap region of `byteLength` bytes. */
  static allocate(byteLength: number): Region {
    return new Region(new SharedArrayBuffer(byteLength), 0, byteLength, 'heap');
  }

  /** The waiter that must be used for every word of this region. */
  get waiter(): Waiter {
    return memoryKind(this.kind).waiter;
  }

  /** Who the threads sharing this memory are (owner tokens, liveness). */
  get identity(): Identity {
    const k = memoryKind(this.kind);
    return k.identityFor?.(this.buffer) ?? k.identity;
  }

  /** A view of the region's words. */
  int32(): Int32Array {
    return new Int32Array(this.buffer, this.byteOffset, this.byteLength >>> 2);
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.buffer, this.byteOffset, this.byteLength);
  }

  /** The part of this region at `offset` (relative) of `byteLength` bytes. */
  slice(offset: number, byteLength: number): Region {
    if (offset < 0 || byteLength < 0 || offset + byteLength > this.byteLength) {
      throw new ShmkitError('INVALID_ARGUMENT', `slice [${offset}, +${byteLength}) is outside the region`);
    }
    return new Region(this.buffer, this.byteOffset + offset, byteLength, this.kind);
  }
}
