import { GAME_STATE_READER, type GameStateReader as Reader } from '../../common/ports/game-state-reader.port';
import type { GameStateLike } from './features';

/** The state module provides GAME_STATE_READER; without it, session predictions are 404. */
export { GAME_STATE_READER };
export type GameStateReader = Reader<GameStateLike>;
