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
