/**
 * How another module (ML, macro) reads a session's current game state without the state
 * service: the one reader type, each consumer naming the state shape it reads. The state module
 * provides it under this token and exports it; a consumer imports the state module and injects
 * it (docs/architecture.md "Modules").
 */
export const GAME_STATE_READER = Symbol('GAME_STATE_READER');

export interface GameStateReader<S = unknown> {
  /** The session's latest state, or undefined for an unknown or expired session. */
  current(sessionId: string): S | undefined;
}
