import { QueueFullError } from '../../common/concurrency';
import { AppError } from '../../common/errors/app.error';

/** A metric or label name that cannot be exported, or a duplicate registration: a programming error. */
export class InvalidMetricError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}

/** Too many decision logs are waiting for their write: refused at once rather than queued without bound. */
export class MetricsLogBacklogError extends QueueFullError {
  readonly retryAfterSeconds = 1;
}
