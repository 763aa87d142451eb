import { AppError } from '../errors/app.error';

/** A lock wait ran out of time. The waiter has left the queue and will never acquire. */
export class LockTimeoutError extends AppError {
  readonly code = 'LOCK_TIMEOUT';
  readonly status = 503;

  constructor(
    readonly lock: string,
    readonly timeoutMs: number,
    details?: Record<string, unknown>,
  ) {
    super(`Timed out after ${timeoutMs} ms waiting for lock "${lock}"`, { lock, timeoutMs, ...details });
  }
}

/** One step of a wait-for cycle: `task` waits for `lock`, which `heldBy` holds. */
export interface DeadlockEdge {
  readonly task: string;
  readonly waitsFor: string;
  readonly heldBy: string;
}

/**
 * A wait that can never be granted: either a cycle in the wait-for graph or a
 * flow re-acquiring a lock it already holds (self-deadlock).
 */
export class DeadlockError extends AppError {
  readonly code = 'DEADLOCK';
  readonly status = 503;

  constructor(
    message: string,
    readonly cycle: readonly DeadlockEdge[],
  ) {
    super(message, { cycle });
  }
}

export interface LockRef {
  readonly lock: string;
  readonly order: number;
}

/** Taking `attempted` while holding `held` breaks the hierarchy (order must strictly increase). */
export class LockOrderViolationError extends AppError {
  readonly code = 'LOCK_ORDER_VIOLATION';
  readonly status = 500;

  constructor(
    readonly attempted: LockRef,
    readonly held: LockRef,
  ) {
    super(
      `Lock order violation: acquiring "${attempted.lock}" (order ${attempted.order}) while holding ` +
        `"${held.lock}" (order ${held.order}); locks must be taken in strictly increasing order`,
      { attempted, held },
    );
  }
}

/** The caller's AbortSignal fired before the lock was granted. */
export class LockAbortedError extends AppError {
  readonly code = 'SERVICE_UNAVAILABLE';
  readonly status = 503;

  constructor(
    readonly lock: string,
    reason?: unknown,
  ) {
    super(`Wait for lock "${lock}" was aborted`, { lock, reason: describeReason(reason) });
  }
}

/** A bounded queue is at its limit; the request is refused at once instead of piling up. */
export class QueueFullError extends AppError {
  readonly code = 'QUEUE_FULL';
  readonly status = 429;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message, details);
  }
}

function describeReason(reason: unknown): string | undefined {
  if (reason === undefined) return undefined;
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === 'string') return reason;
  try {
    return JSON.stringify(reason) ?? typeof reason;
  } catch {
    return typeof reason;
  }
}
