import { Injectable, type PipeTransform } from '@nestjs/common';
import { InvalidRequestError } from '../../../common/errors/app.error';
import type { GameState, PartialGameState } from '../../state';
import { parseGameState, parseGameStatePatch, MergeStrategy } from '../../state';

/** Validated POST /api/v1/state body (documented by StateUpdateDto). */
export interface StateUpdateBody {
  session_id: string;
  game_state?: GameState;
  patch?: PartialGameState;
  merge_strategy?: MergeStrategy;
  expected_version?: number;
}

/** Validated POST /api/v1/decide body (documented by DecideDto). */
export interface DecideBody {
  game_state: GameState;
  request_id?: string | number;
  timestamp_ms?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const STATE_KEYS = new Set(['session_id', 'game_state', 'patch', 'merge_strategy', 'expected_version']);
const STRATEGIES = new Set<string>(Object.values(MergeStrategy));

function body(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidRequestError('Request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Edge validation of the hot route POST /state without class-validator's reflection. */
@Injectable()
export class StateUpdateBodyPipe implements PipeTransform<unknown, StateUpdateBody> {
  transform(value: unknown): StateUpdateBody {
    const o = body(value);
    for (const key of Object.keys(o)) if (!STATE_KEYS.has(key)) throw new InvalidRequestError(`property ${key} should not exist`);
    if (typeof o.session_id !== 'string' || !UUID.test(o.session_id)) throw new InvalidRequestError('session_id must be a UUID');
    const out: StateUpdateBody = { session_id: o.session_id };
    if (o.game_state !== undefined) out.game_state = parseGameState(o.game_state);
    if (o.patch !== undefined) out.patch = parseGameStatePatch(o.patch);
    if (o.merge_strategy !== undefined) {
      if (typeof o.merge_strategy !== 'string' || !STRATEGIES.has(o.merge_strategy)) {
        throw new InvalidRequestError(`merge_strategy must be one of ${[...STRATEGIES].join(', ')}`);
      }
      out.merge_strategy = o.merge_strategy as MergeStrategy;
    }
    if (o.expected_version !== undefined) {
      const v = o.expected_version;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidRequestError('expected_version must be an integer >= 0');
      out.expected_version = v;
    }
    return out;
  }
}

/**
 * The plugin's decide body. Its own unknown fields are tolerated and dropped (plugin versions
 * in the field add fields); the game state is validated like everywhere else.
 */
@Injectable()
export class DecideBodyPipe implements PipeTransform<unknown, DecideBody> {
  transform(value: unknown): DecideBody {
    const o = body(value);
    const out: DecideBody = { game_state: fromFieldPlugin(parseGameState(o.game_state)) };
    const rid = o.request_id;
    if (rid !== undefined) {
      if (!((typeof rid === 'string' && rid.length <= 128) || (typeof rid === 'number' && Number.isSafeInteger(rid)))) {
        throw new InvalidRequestError('request_id must be an integer or a string of up to 128 characters');
      }
      out.request_id = rid;
    }
    if (o.timestamp_ms !== undefined) {
      if (typeof o.timestamp_ms !== 'number' || !Number.isSafeInteger(o.timestamp_ms) || o.timestamp_ms < 0) throw new InvalidRequestError('timestamp_ms must be an integer >= 0');
      out.timestamp_ms = o.timestamp_ms;
    }
    return out;
  }
}

/**
 * The field plugin's `is_aggressive` means "has damaged the bot" (docs/field-plugin.md §4.3), which
 * is what the engine calls `is_attacking_me`; it sends no `is_attacking_me` of its own.
 */
function fromFieldPlugin(state: GameState): GameState {
  const monsters = state.monsters;
  if (!monsters?.some((m) => m.is_attacking_me === undefined && m.is_aggressive !== undefined)) return state;
  const read = monsters.map((m) => (m.is_attacking_me === undefined && m.is_aggressive !== undefined ? Object.freeze({ ...m, is_attacking_me: m.is_aggressive }) : m));
  return Object.freeze({ ...state, monsters: Object.freeze(read) as GameState['monsters'] });
}
