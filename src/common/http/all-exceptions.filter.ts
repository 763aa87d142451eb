import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { AppError, type ErrorCode } from '../errors/app.error';
import { isOutOfSpace, StorageFullError } from '../errors/storage.errors';

export interface ErrorEnvelope {
  status: 'error';
  error: { code: ErrorCode; message: string; details?: unknown };
  metadata: { timestamp: string; request_id: string };
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_REQUEST',
  401: 'INVALID_TOKEN',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'BUSY',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMIT',
  503: 'SERVICE_UNAVAILABLE',
};

interface Mapped {
  status: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
  retryAfterSeconds?: number;
  allow?: readonly string[];
}

/** Client-side parse/limit/routing errors raised by Fastify itself carry `statusCode` and an FST_ code. */
function isFrameworkClientError(e: unknown): e is Error & { statusCode: number; code?: string } {
  if (!(e instanceof Error)) return false;
  const status = (e as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

export function mapError(exception: unknown): Mapped {
  if (exception instanceof AppError) {
    const retry = (exception as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    const allow = (exception as { allow?: unknown }).allow;
    return {
      status: exception.status,
      code: exception.code,
      message: exception.message,
      details: exception.details,
      retryAfterSeconds: typeof retry === 'number' ? retry : undefined,
      allow: Array.isArray(allow) ? (allow as string[]) : undefined,
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const message =
      typeof response === 'object' && response !== null && 'message' in response
        ? (response as { message: unknown }).message
        : exception.message;
    // Nest wraps Fastify's own client errors (parse, limits) in an HttpException: keep their code.
    const cause = exception.cause;
    return {
      status,
      code: CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST'),
      message: Array.isArray(message) ? message.join('; ') : String(message),
      details: isFrameworkClientError(cause) && cause.code ? { reason: cause.code } : undefined,
    };
  }
  if (isFrameworkClientError(exception)) {
    const status = exception.statusCode;
    return {
      status,
      code: CODE_BY_STATUS[status] ?? 'INVALID_REQUEST',
      message: exception.message,
      details: exception.code ? { reason: exception.code } : undefined,
    };
  }
  // A full disk reached by a path that does not convert it itself (a file write, a raw query).
  if (isOutOfSpace(exception)) return mapError(new StorageFullError());
  return { status: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' };
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: ErrorEnvelope;
}

const httpLogger = new Logger('HTTP');

/** The status, headers and envelope an error becomes; server errors are logged here with the request id. */
export function errorReply(exception: unknown, requestId: string, url: string | undefined): ErrorReply {
  const mapped = mapError(exception);
  if (mapped.status >= 500) {
    const err = exception instanceof Error ? exception : new Error(String(exception));
    httpLogger.error({ err, request_id: requestId, url, code: mapped.code }, 'request failed');
  }
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (mapped.retryAfterSeconds !== undefined) headers['retry-after'] = String(mapped.retryAfterSeconds);
  if (mapped.allow !== undefined) headers.allow = mapped.allow.join(', ');
  return {
    status: mapped.status,
    headers,
    body: {
      status: 'error',
      error: { code: mapped.code, message: mapped.message, ...(mapped.details !== undefined ? { details: mapped.details } : {}) },
      metadata: { timestamp: new Date().toISOString(), request_id: requestId },
    },
  };
}

/** What sending an error needs of a reply: Fastify's, or the front door's. */
export interface ErrorSink {
  readonly sent: boolean;
  readonly raw: ServerResponse;
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload: unknown): unknown;
}

/**
 * The pipeline's error stage, for every way a request can fail: Nest's global filter, errors
 * Fastify raises before any route (bad URL, over-long path parameter), and the front door's
 * own refusals all answer through this, in the one envelope.
 */
export function sendError(exception: unknown, request: { readonly id: string; readonly raw: { url?: string } } | undefined, reply: ErrorSink): void {
  const { status, headers, body } = errorReply(exception, String(request?.id ?? ''), request?.raw.url);
  if (reply.sent || reply.raw.headersSent) return;
  for (const name in headers) reply.header(name, headers[name]);
  reply.header('content-type', 'application/json; charset=utf-8');
  reply.code(status);
  reply.send(body);
}

/** The one place Nest's errors become HTTP: the envelope of docs/architecture.md "Public API" with the request id. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    sendError(exception, ctx.getRequest<{ id: string; raw: { url?: string } } | undefined>(), ctx.getResponse<ErrorSink>());
  }
}
