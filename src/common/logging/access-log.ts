import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const REQUEST_ID_LOG_LABEL = 'request_id';

export interface AccessLine {
  method: string;
  url: string;
  status: number;
  response_time_ms: number;
}

type LevelLogger = Record<'error' | 'info' | 'debug', (obj: object, msg: string) => void>;

/**
 * One access-log line per request, at a level by outcome: success at debug (a farm makes
 * thousands of ticks a second), client errors at info, server errors at error. Used by
 * Fastify's log controller and by the front door.
 */
export function logRequestCompleted(log: LevelLogger, line: AccessLine, error: Error | null | undefined): void {
  const level = accessLogLevel(line.status, error);
  if (level === 'error') log.error({ ...line, err: error }, 'request failed');
  else if (level === 'info') log.info(line, 'request rejected');
  else log.debug(line, 'request completed');
}

export function accessLogLevel(status: number, error: Error | null | undefined): 'error' | 'info' | 'debug' {
  return error || status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
}

export function responseTimeMs(elapsedMs: number): number {
  return Math.round(elapsedMs * 1000) / 1000;
}

export class AccessLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: REQUEST_ID_LOG_LABEL });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    logRequestCompleted(
      reply.log as unknown as LevelLogger,
      { method: request.method, url: request.url, status: reply.statusCode, response_time_ms: responseTimeMs(reply.elapsedTime) },
      error,
    );
  }
}
