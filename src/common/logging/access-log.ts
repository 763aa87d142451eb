import { LogController } from 'fastify';

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
 * thousands of ticks a second), client errors at info, server errors at error. Written by the
 * request pipeline's observation stage for every way in (Fastify's own request logging is off).
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

/**
 * Fastify's log controller without its access lines (the request pipeline writes one per
 * response, for every way in); its other lines (stream and write errors) stay.
 */
export class PipelineLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: REQUEST_ID_LOG_LABEL });
  }

  override incomingRequest(): void {}

  override requestCompleted(): void {}

  // Nest's filter answers every route's errors; Fastify's default error handler (and its line) is not reached.
  override routeNotFound(): void {}
}
