export { Barrier } from './barrier.js';
export { Condition } from './condition.js';
export { Guard } from './guard.js';
export { Latch } from './latch.js';
export { Mutex, type MutexOptions } from './mutex.js';
export { RwLock } from './rwlock.js';
export { type AcquireOptions, Semaphore } from './semaphore.js';
