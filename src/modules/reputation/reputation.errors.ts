import { AppError, InvalidRequestError, NotFoundError } from '../../common/errors/app.error';

export class PlayerNotFoundError extends NotFoundError {
  constructor(playerId: number) {
    super(`No reputation record for player ${playerId}`, { player_id: playerId });
  }
}

/** A request_id is an idempotency key: reusing it for a different change is a client bug. */
export class RequestIdReusedError extends InvalidRequestError {
  constructor(requestId: string, existing: { player_id: number; interaction_type: string; reputation_delta: number }) {
    super(`request_id "${requestId}" was already used for a different change`, { request_id: requestId, existing });
  }
}

/** The score changed under a guarded update: impossible inside BEGIN IMMEDIATE, so a bug if seen. */
export class LostUpdateError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}
