import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'BUSY',
  413: 'PAYLOAD_TOO_LARGE',
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
}

/** Client-side parse/limit errors raised by Fastify itself carry `statusCode` and an FST_ code. */
function isFrameworkClientError(e: unknown): e is Error & { statusCode: number; code?: string } {
  if (!(e instanceof Error)) return false;
  const status = (e as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

export function mapError(exception: unknown): Mapped {
  if (exception instanceof AppError) {
    const retry = (exception as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    return {
      status: exception.status,
      code: exception.code,
      message: exception.message,
      details: exception.details,
      retryAfterSeconds: typeof retry === 'number' ? retry : undefined,
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

/**
 * The status, headers and envelope an error becomes, for Nest's filter and the front door alike;
 * server errors are logged here with the request id.
 */
export function errorReply(exception: unknown, requestId: string, url: string | undefined): ErrorReply {
  const mapped = mapError(exception);
  if (mapped.status >= 500) {
    const err = exception instanceof Error ? exception : new Error(String(exception));
    httpLogger.error({ err, request_id: requestId, url, code: mapped.code }, 'request failed');
  }
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (mapped.retryAfterSeconds !== undefined) headers['retry-after'] = String(mapped.retryAfterSeconds);
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

/** The one place Nest's errors become HTTP: the envelope from DESIGN.md with the request id. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const { status, headers, body } = errorReply(exception, String(request?.id ?? ''), request?.url);
    if (reply.sent || reply.raw.headersSent) return;
    void reply.headers(headers).code(status).type('application/json').send(body);
  }
}
