/**
 * @shmkit/segment: shared memory between processes. Named segments (`Segment`) holding the
 * primitives of @shmkit/sync and channels of @shmkit/channel, on memory-mapped files, the native
 * futex waiter that wakes threads of other processes, and the process-shared identity of lock owners.
 *
 * Importing this package loads its native addon: when that addon is missing, was built for another
 * Node version or cannot load, the import fails with ShmkitError UNSUPPORTED, saying why and how to
 * fix it (@shmkit/core and @shmkit/sync never need it). It then registers the `futex` memory kind
 * in this thread, so that objects of a segment attach here from their handles (`Mutex.from(h)`):
 * import it in every worker that uses segment objects.
 */
import { registerMemoryKind } from '@shmkit/core';
import { native } from './native.js';
import { futexMemoryKind } from './segment-identity.js';

native();
registerMemoryKind('futex', futexMemoryKind);

export { futexWaiter, futexWaitvInUse, pendingFutexWaits } from './futex-waiter.js';
export type { SegmentInfo } from './inventory.js';
export type { SegmentStructType } from './kinds.js';
export {
  type CreateMappedFileOptions,
  createMappedFile,
  flushMappedFile,
  type MappedFile,
  type MappingState,
  mappingState,
  openMappedFile,
  releaseMapping,
  SHM_DIR,
  unlinkMappedFile,
} from './mapping.js';
export { loadNative, type NativeAddon, type NativeMapping } from './native.js';
export type {
  CreateSegmentOptions,
  OpenSegmentOptions,
  SegmentChannelOptions,
  SegmentHandle,
  SegmentObjectInfo,
} from './options.js';
export { isProcessAlive, isZombie, type ProcessStat, processStartTime, readProcessStat } from './proc.js';
export { ProcessIdentity, type ThreadOwner } from './process-identity.js';
export { Segment } from './segment.js';
export { futexMemoryKind, segmentIdentity } from './segment-identity.js';
