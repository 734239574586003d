/**
 * The errors of the `shmkit` command: ShmkitErrors like every other error of shmkit, so a script
 * can tell them apart by `code`; main() maps them to exit codes.
 */
import { ShmkitError } from '@shmkit/core';

/** A usage error (unknown action, bad value, missing file): INVALID_ARGUMENT, exit code 2. */
export class UsageError extends ShmkitError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** A failure the command found, with the code that names it (NOT_FOUND, CORRUPT, ...): exit code 1. */
export class Failure extends ShmkitError {}
