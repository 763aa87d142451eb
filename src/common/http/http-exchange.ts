import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * What the request pipeline, its guards and the handlers see of a request: the part Fastify's
 * request and the front door's (src/common/http/front-door.ts) have in common.
 */
export interface PipelineRequest {
  readonly id: string;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly params: unknown;
  readonly raw: IncomingMessage;
}

/** What a handler may do to its reply (`@Res({ passthrough: true })`): choose the status (202) and set headers (ETag). */
export interface PipelineReply {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  /** Milliseconds since the request arrived (the envelope's processing_time_ms). */
  readonly elapsedTime: number;
  readonly raw: ServerResponse;
}
