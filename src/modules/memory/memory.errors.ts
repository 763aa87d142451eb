import { AppError, BusyError, InvalidRequestError } from '../../common/errors/app.error';

/** An event or game state whose canonical JSON is over MEMORY_MAX_EVENT_BYTES. */
export class EventTooLargeError extends InvalidRequestError {
  constructor(field: string, bytes: number, maxBytes: number) {
    super(`${field} is ${bytes} bytes of JSON; at most ${maxBytes} are accepted`, { field, bytes, max_bytes: maxBytes });
  }
}

/** The session holds MEMORY_MAX_PER_SESSION memories; a consolidation (already scheduled) makes room. */
export class MemoryFullError extends BusyError {
  constructor(sessionId: string, size: number, max: number) {
    super(`Session ${sessionId} holds ${size} memories (at most ${max}); a consolidation has been scheduled to make room, retry later`, {
      session_id: sessionId,
      memories: size,
      max_memories: max,
    });
  }
}

/** The embedding provider broke its contract (wrong count, dimensions, zero or non-finite vectors). */
export class EmbeddingProviderError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}
