/**
 * Every error shmkit throws is a `ShmkitError` whose `code` says what went wrong in terms a caller
 * can act on. The `code` strings are the public contract; messages are for people and may change.
 */

/** The codes a {@link ShmkitError} can carry. */
export const ErrorCodes = [
  'TIMEOUT',
  'ABORTED',
  'CLOSED',
  'TOO_LARGE',
  'CORRUPT',
  'INCOMPATIBLE',
  'OWNER_DEAD',
  'NOT_RECOVERABLE',
  'PEER_DEAD',
  'NOT_FOUND',
  'EXISTS',
  'INVALID_ARGUMENT',
  'NOT_OWNER',
  'DEADLOCK',
  'UNSUPPORTED',
  'PERMISSION',
] as const;

/** One of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[number];

/**
 * The one error type shmkit throws.
 *
 * @example
 * ```ts
 * try { mutex.lock({ timeout: 50 }); }
 * catch (e) { if (ShmkitError.is(e, 'TIMEOUT')) retryLater(); else throw e; }
 * ```
 */
export class ShmkitError extends Error {
  /** What went wrong; stable across releases. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** True when `e` is a ShmkitError, and when `code` is given, one with that code. */
  static is(e: unknown, code?: ErrorCode): e is ShmkitError {
    return e instanceof ShmkitError && (code === undefined || e.code === code);
  }
}

Object.defineProperty(ShmkitError.prototype, 'name', {
  value: 'ShmkitError',
  writable: true,
  configurable: true,
});

/** Throws INVALID_ARGUMENT with `message`; used to keep validation one line at call sites. */
export function invalidArgument(message: string): never {
  throw new ShmkitError('INVALID_ARGUMENT', message);
}
