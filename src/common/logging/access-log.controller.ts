import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * One access-log line per request, at a level by outcome: success at debug (a farm makes
 * thousands of ticks a second), client errors at info, server errors at error.
 */
export class AccessLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'request_id' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    const line = {
      method: request.method,
      url: request.url,
      status,
      response_time_ms: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    if (error || status >= 500) reply.log.error({ ...line, err: error }, 'request failed');
    else if (status >= 400) reply.log.info(line, 'request rejected');
    else reply.log.debug(line, 'request completed');
  }
}
