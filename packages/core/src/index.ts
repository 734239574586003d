export {
  type AsyncWaitOptions,
  abortedError,
  Deadline,
  throwIfAborted,
  timeoutError,
  validateAsyncOptions,
  validateTimeout,
  validateWaitOptions,
  type WaitOptions,
} from './deadline.js';
export { type ErrorCode, ErrorCodes, invalidArgument, ShmkitError } from './errors.js';
export { FAILPOINT, FAILPOINTS, type FailpointName, failpoint } from './failpoint.js';
export { heapWaiter } from './heap-waiter.js';
export { heapIdentity, type Identity, TOKEN_MASK } from './identity.js';
export { holdEventLoop, pendingEventLoopHolds } from './keep-alive.js';
export {
  alignUp,
  CACHE_LINE,
  defineTag,
  LayoutBuilder,
  TAG_KIND_MASK,
  tagName,
  tagVersion,
} from './layout.js';
export { type MemoryKind, memoryKind, registerMemoryKind } from './memory-kind.js';
export { Region } from './region.js';
export {
  attach,
  bindNew,
  type Handle,
  publishTag,
  regionFromHandle,
  SharedObject,
  TAG_INDEX,
  tagMismatch,
} from './shared-object.js';
export { type PrimitiveClass, SharedPrimitive } from './shared-primitive.js';
export { validateInteger } from './validate.js';
export {
  countedSleep,
  runAsync,
  runBlocking,
  type Sleep,
  type WaitStep,
  type WaitSteps,
  waitStepsAsync,
} from './wait-steps.js';
export type { MemoryKindName, Waiter, WaiterKind, WaitResult } from './waiter.js';
