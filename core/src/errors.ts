// One error type for every expected failure: a message a user can act on, and a hint.
// UIs print message and hint; they never print a stack trace for a KdevError.

export type KdevErrorCode =
  | 'NO_CLUSTER'
  | 'UNREACHABLE'
  | 'TLS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID'
  | 'TIMEOUT'
  | 'IN_USE'
  | 'FAILED';

export class KdevError extends Error {
  constructor(
    readonly code: KdevErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KdevError';
  }
}

export function isKdevError(err: unknown): err is KdevError {
  return err instanceof KdevError;
}
