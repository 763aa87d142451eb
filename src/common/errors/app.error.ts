/**
 * Stable error codes of the public API (docs/architecture.md "Public API"). The global
 * exception filter maps an AppError to its HTTP status and the error envelope;
 * clients switch on `code`, never on the message.
 */
export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_TOKEN'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'URI_TOO_LONG'
  | 'VERSION_CONFLICT'
  | 'BUSY'
  | 'SESSION_ELSEWHERE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNPROCESSABLE'
  | 'QUEUE_FULL'
  | 'RATE_LIMIT'
  | 'LOCK_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'STORAGE_FULL'
  | 'DEADLOCK'
  | 'LOCK_ORDER_VIOLATION'
  | 'INTERNAL_ERROR';

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly status: number;
  readonly details?: unknown;

  constructor(message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class InvalidRequestError extends AppError {
  readonly code = 'INVALID_REQUEST';
  readonly status = 400;
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  readonly status = 404;
}

export class BusyError extends AppError {
  readonly code = 'BUSY';
  readonly status = 409;
}

export class VersionConflictError extends AppError {
  readonly code = 'VERSION_CONFLICT';
  readonly status = 409;
}

export class ServiceUnavailableError extends AppError {
  readonly code = 'SERVICE_UNAVAILABLE';
  readonly status = 503;
}

/**
 * The session is leased by another live engine instance (docs/cluster.md): the load balancer
 * should have sent the request there; details name the owner.
 */
export class SessionElsewhereError extends AppError {
  readonly code = 'SESSION_ELSEWHERE';
  readonly status = 409;

  constructor(sessionId: string, owner: { instance_id: string; advertised_url: string; expires_at: number }) {
    super(`Session ${sessionId} is served by instance ${owner.instance_id} (${owner.advertised_url})`, {
      session_id: sessionId,
      instance_id: owner.instance_id,
      advertised_url: owner.advertised_url,
      lease_expires_at: new Date(owner.expires_at).toISOString(),
    });
  }
}
