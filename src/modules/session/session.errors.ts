import { NotFoundError } from '../../common/errors/app.error';

export class SessionNotFoundError extends NotFoundError {
  constructor(sessionId: string) {
    super(`Session ${sessionId} not found or expired`, { session_id: sessionId });
  }
}
