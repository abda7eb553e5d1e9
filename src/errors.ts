/**
 * The typed errors of the application. The domain throws these; dialogs, card handlers and the web API turn
 * them into friendly words (or an HTTP status). Anything that is not an AppError is a bug: it is logged and the
 * user gets a short apology, never the message or a stack.
 */
export type AppErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'unauthenticated'
  | 'rate_limited'
  | 'too_large';

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
