import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * What a lean route sees of its request: the part Fastify's request and the front door's
 * (src/common/http/front-door.ts) have in common.
 */
export interface LeanRequest {
  readonly id: string;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly params: unknown;
  readonly raw: IncomingMessage;
}

/** What a lean route may do to its reply: choose the status (202) and set headers (ETag). */
export interface LeanReply {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  readonly elapsedTime: number;
  readonly raw: ServerResponse;
}
