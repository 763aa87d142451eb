import { AppError } from '../../common/errors/app.error';

/** A metric or label name that cannot be exported, or a duplicate registration: a programming error. */
export class InvalidMetricError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}

/** Too many decision logs are waiting for their write: refused at once rather than queued without bound. */
export class MetricsLogBacklogError extends AppError {
  readonly code = 'QUEUE_FULL';
  readonly status = 429;
  readonly retryAfterSeconds = 1;
}

/** The engine is stopping: no new decision log is accepted (it could not be committed). */
export class MetricsLogClosedError extends AppError {
  readonly code = 'SERVICE_UNAVAILABLE';
  readonly status = 503;
}
