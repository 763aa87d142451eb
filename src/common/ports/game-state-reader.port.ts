/**
 * How another module (ML) reads a session's current game state without depending on the state
 * module. The state module provides it under this token; consumers look it up non-strictly
 * at bootstrap and treat its absence as "no state".
 */
export const GAME_STATE_READER = Symbol('GAME_STATE_READER');

export interface GameStateReader<S = unknown> {
  /** The session's latest state, or undefined for an unknown or expired session. */
  current(sessionId: string): S | undefined;
}
