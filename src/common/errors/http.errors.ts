import { AppError } from './app.error';

export class InvalidTokenError extends AppError {
  readonly code = 'INVALID_TOKEN';
  readonly status = 401;
}

export class RateLimitError extends AppError {
  readonly code = 'RATE_LIMIT';
  readonly status = 429;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, { retry_after_seconds: retryAfterSeconds });
  }
}

/** The path exists, not with this method; `allow` lists the methods it has. */
export class MethodNotAllowedError extends AppError {
  readonly code = 'METHOD_NOT_ALLOWED';
  readonly status = 405;
  constructor(
    method: string,
    path: string,
    readonly allow: readonly string[],
  ) {
    super(`${method} is not allowed on ${path}`, { allow });
  }
}
