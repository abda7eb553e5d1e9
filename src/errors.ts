/**
 * The typed errors of the application. The domain throws these; dialogs, card handlers and the web API turn
 * them into friendly words (or an HTTP status). Anything that is not an AppError is a bug: it is logged and the
 * user gets a short apology, never the message or a stack.
 */
export type AppErrorCode = 'invalid_input' | 'not_found' | 'forbidden' | 'conflict' | 'unauthenticated' | 'rate_limited' | 'too_large';

export abstract class AppError extends Error {
  abstract readonly code: AppErrorCode;
  abstract readonly httpStatus: number;
  /** Safe to show to the user as it is. */
  readonly userMessage: string;

  constructor(userMessage: string, options?: { cause?: unknown }) {
    super(userMessage, options);
    this.userMessage = userMessage;
    this.name = new.target.name;
  }
}

export class InvalidInputError extends AppError {
  readonly code = 'invalid_input';
  readonly httpStatus = 400;
}

/**
 * A page token (a card's Next button, the tab's query) that cannot be used: damaged, forged or from an older
 * version. Its own type so that it is logged at warn: the client sent something we never made.
 */
export class StalePageError extends InvalidInputError {
  constructor(options?: { cause?: unknown }) {
    super('That page is no longer available. Start again from the first page.', options);
  }
}

export class NotFoundError extends AppError {
  readonly code = 'not_found';
  readonly httpStatus = 404;
}

export class ForbiddenError extends AppError {
  readonly code = 'forbidden';
  readonly httpStatus = 403;
}

export class ConflictError extends AppError {
  readonly code = 'conflict';
  readonly httpStatus = 409;
}

/** A conditional write lost to someone else's (412 at a stale eTag, or the row deleted meanwhile): try again. */
export class ConcurrentWriteError extends ConflictError {
  constructor(options?: { cause?: unknown }) {
    super('Someone else changed this at the same moment. Please try again.', options);
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = 'unauthenticated';
  readonly httpStatus = 401;
}

export class RateLimitedError extends AppError {
  readonly code = 'rate_limited';
  readonly httpStatus = 429;
  constructor(
    userMessage: string,
    readonly retryAfterSeconds: number,
  ) {
    super(userMessage);
  }
}

export class TooLargeError extends AppError {
  readonly code = 'too_large';
  readonly httpStatus = 413;
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** What a user reads when storage does not answer in time (or cannot be reached at all). */
export const STORAGE_UNAVAILABLE = 'Storage is not answering. Please try again in a moment.';

/**
 * Storage did not answer within STORAGE_TIMEOUT_MS (retries included) or could not be reached. Deliberately not
 * an AppError: handlers that show AppErrors as "your request was refused" must let this one through, so that
 * the turn fails as a whole (its redelivery lease is not marked done) and ends in the turn error handler, which
 * answers with STORAGE_UNAVAILABLE.
 */
export class StorageUnavailableError extends Error {
  readonly userMessage = STORAGE_UNAVAILABLE;
  readonly httpStatus = 503;

  constructor(
    readonly reason: 'timeout' | 'unreachable',
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Storage unavailable (${reason}): ${detail}`, options);
    this.name = 'StorageUnavailableError';
  }
}

/**
 * The typed error behind `err`, looking through botbuilder-dialogs' DialogContextError (what a dialog throws
 * reaches its caller wrapped, its `error` the original): a dialog's refusal is then shown as the refusal it is.
 */
export function appErrorIn(err: unknown): AppError | undefined {
  if (isAppError(err)) return err;
  const inner = (err as { error?: unknown } | undefined)?.error;
  return isAppError(inner) ? inner : undefined;
}

/**
 * The StorageUnavailableError behind `err`, looking through wrappers: `cause` chains, and botbuilder-dialogs'
 * DialogContextError, which keeps what a dialog threw in `error`.
 */
export function storageUnavailableIn(err: unknown): StorageUnavailableError | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    if (e instanceof StorageUnavailableError) return e;
    const wrapper = e as { cause?: unknown; error?: unknown };
    e = wrapper.cause ?? wrapper.error;
  }
  return undefined;
}
