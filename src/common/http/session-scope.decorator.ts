import { SetMetadata } from '@nestjs/common';
import { type SessionRef, sessionIdRef } from '../ports/session-directory.port';
import type { PipelineRequest } from './http-exchange';

export { characterRef, sessionIdRef, type SessionRef } from '../ports/session-directory.port';

/** How a route names the session its request belongs to; undefined = the request names none. */
export type SessionRefExtractor = (request: PipelineRequest) => SessionRef | undefined;

export const SESSION_FROM = 'openkore:sessionFrom';
export const PUBLISHED_READ = 'openkore:publishedRead';

/**
 * Where the session guard finds the request's session, when not in the default places (a
 * `:sessionId` route parameter, a `session_id` body field) — e.g. the plugin's character name.
 */
export const SessionFrom = (extract: SessionRefExtractor) => SetMetadata(SESSION_FROM, extract);

/**
 * A pure read of published (copy-on-write) state: answers from the current snapshot, so it
 * takes no session turn and never waits behind the session's writers (docs/architecture.md §3.2, §9.1).
 */
export const PublishedRead = () => SetMetadata(PUBLISHED_READ, true);

/** The default: a `:sessionId` route parameter, else a `session_id` field of a JSON object body. */
export const defaultSessionRef: SessionRefExtractor = (request) => {
  const params = request.params as Record<string, unknown> | undefined;
  if (params && typeof params.sessionId === 'string') return sessionIdRef(params.sessionId);
  const body = request.body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) return sessionIdRef((body as Record<string, unknown>).session_id);
  return undefined;
};

/** The fields of a JSON object body (an empty record for anything else). */
export function bodyFields(request: PipelineRequest): Record<string, unknown> {
  const body = request.body;
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
