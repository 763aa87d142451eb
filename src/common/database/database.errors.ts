import { AppError } from '../errors/app.error';

/** SQLite stayed busy (another process held the write lock) through every retry. */
export class DatabaseBusyError extends AppError {
  readonly code = 'SERVICE_UNAVAILABLE';
  readonly status = 503;
}

/** A transaction wrote tables against the documented global order (a deadlock risk across processes). */
export class TableOrderViolationError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}

/** A write-transaction body returned a promise: awaiting inside BEGIN…COMMIT would hold the write lock across the event loop. */
export class AsyncTransactionBodyError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}

/**
 * A COMMIT got no answer from the server (the connection dropped) or a fatal one: the
 * transaction may have been committed or not. Not retried — running the body again could apply
 * it twice.
 */
export class CommitOutcomeUnknownError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}

/**
 * Thrown by a write body that found a conflict the server would report as a serialization
 * failure had it run the transaction serializable — say, a row it saw missing inserted meanwhile
 * by another transaction (`INSERT … ON CONFLICT DO NOTHING` changed nothing). It carries
 * PostgreSQL's SQLSTATE 40001, so the PostgreSQL writer rolls back and runs the whole body again
 * (bounded, like any serialization failure); on SQLite, whose writes exclude each other, it
 * cannot happen.
 */
export class WriteConflictRetry extends Error {
  readonly code = '40001';
}
