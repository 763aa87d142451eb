import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../errors/app.error';

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
    return {
      status,
      code: CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST'),
      message: Array.isArray(message) ? message.join('; ') : String(message),
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
  return { status: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' };
}

/** The one place errors become HTTP: the envelope from DESIGN.md with the request id. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const mapped = mapError(exception);
    const requestId = String(request?.id ?? '');

    if (mapped.status >= 500) {
      const err = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.error({ err, request_id: requestId, url: request?.url, code: mapped.code }, 'request failed');
    }
    if (reply.sent || reply.raw.headersSent) return;

    const body: ErrorEnvelope = {
      status: 'error',
      error: { code: mapped.code, message: mapped.message, ...(mapped.details !== undefined ? { details: mapped.details } : {}) },
      metadata: { timestamp: new Date().toISOString(), request_id: requestId },
    };
    if (mapped.retryAfterSeconds !== undefined) void reply.header('retry-after', String(mapped.retryAfterSeconds));
    void reply.header('x-request-id', requestId).code(mapped.status).type('application/json').send(body);
  }
}
