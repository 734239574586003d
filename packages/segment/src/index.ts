/**
 * @shmkit/segment: shared memory between processes. Memory-mapped segment files, the native futex
 * waiter that wakes threads of other processes, and the process-shared identity of lock owners.
 *
 * Importing this package loads its native addon: when that addon is missing, was built for another
 * Node version or cannot load, the import fails with ShmkitError UNSUPPORTED, saying why and how to
 * fix it (@shmkit/core and @shmkit/sync never need it).
 */
import { native } from './native.js';

native();

export { futexWaiter, futexWaitvInUse, pendingFutexWaits } from './futex-waiter.js';
export {
  type CreateMappedFileOptions,
  createMappedFile,
  flushMappedFile,
  type MappedFile,
  openMappedFile,
  SHM_DIR,
  unlinkMappedFile,
} from './mapping.js';
export { loadNative, type NativeAddon, type NativeMapping } from './native.js';
export { isProcessAlive, isZombie, type ProcessStat, processStartTime, readProcessStat } from './proc.js';
export { ProcessIdentity, type ThreadOwner } from './process-identity.js';
