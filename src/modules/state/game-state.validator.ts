import { InvalidRequestError } from '../../common/errors/app.error';
import type { Character, GameState, InventoryItem, Monster, NearbyPlayer, PartialGameState, PartyMember, Position, Skill } from './game-state';

/**
 * The hot path's edge validation of a game state: the same rules as the DTO classes in
 * dto/game-state.dto.ts (which document the API and validate the cold routes), compiled by
 * hand into straight-line checks — class-validator's reflection costs more than the rest of a
 * tick. It copies only known fields, so unknown ones (newer plugin versions send more) are
 * dropped rather than stored. A spec checks both validators agree.
 *
 * Everything it returns is frozen as it is built (the objects are new and only the engine holds
 * them): a published snapshot is immutable without a second walk to freeze it.
 */
type Obj = Record<string, unknown>;

const MAX = 100_000_000;

function fail(path: string, rule: string): never {
  throw new InvalidRequestError(`${path} ${rule}`, { fields: [{ field: path, errors: [`${path} ${rule}`] }] });
}

function obj(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'must be an object');
  return v as Obj;
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, 'must be an integer number');
  if (v < min) fail(path, `must not be less than ${min}`);
  if (v > max) fail(path, `must not be greater than ${max}`);
  return v;
}

function num(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'must be a number');
  if (v < min) fail(path, `must not be less than ${min}`);
  if (v > max) fail(path, `must not be greater than ${max}`);
  return v;
}

function str(v: unknown, path: string, min: number, max: number): string {
  if (typeof v !== 'string') fail(path, 'must be a string');
  if (v.length < min || v.length > max) fail(path, `must be ${min}-${max} characters`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be a boolean value');
  return v;
}

function arr(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be an array');
  if (v.length > max) fail(path, `must contain no more than ${max} elements`);
  return v;
}

/** Sets `out[key]` from `o[key]` through `check` when present (null counts as absent, as for @IsOptional). */
function opt<T>(o: Obj, out: Obj, key: string, path: string, check: (v: unknown, p: string) => T): void {
  const v = o[key];
  if (v !== undefined && v !== null) out[key] = check(v, `${path}.${key}`);
}

const frozen = Object.freeze;

function position(v: unknown, path: string): Position {
  const o = obj(v, path);
  return frozen({ map: str(o.map, `${path}.map`, 1, 64), x: int(o.x, `${path}.x`, 0, 100_000), y: int(o.y, `${path}.y`, 0, 100_000) });
}

const strings = (max: number) => (v: unknown, p: string) => frozen(arr(v, p, max).map((s, i) => str(s, `${p}[${i}]`, 0, 256)));

function characterFields(o: Obj, path: string, partial: boolean): Partial<Character> {
  const out: Obj = {};
  const required = <T>(key: string, check: (v: unknown, p: string) => T) => {
    if (o[key] === undefined || (partial && o[key] === null)) {
      if (!partial) fail(`${path}.${key}`, 'is required');
      return;
    }
    out[key] = check(o[key], `${path}.${key}`);
  };
  required('name', (v, p) => str(v, p, 1, 64));
  required('level', (v, p) => int(v, p, 1, 1000));
  required('hp', (v, p) => int(v, p, 0, MAX));
  required('max_hp', (v, p) => int(v, p, 1, MAX));
  required('sp', (v, p) => int(v, p, 0, MAX));
  required('max_sp', (v, p) => int(v, p, 0, MAX));
  required('position', position);
  opt(o, out, 'job_level', path, (v, p) => int(v, p, 0, 1000));
  opt(o, out, 'weight', path, (v, p) => int(v, p, 0, MAX));
  opt(o, out, 'max_weight', path, (v, p) => int(v, p, 0, MAX));
  opt(o, out, 'zeny', path, (v, p) => int(v, p, 0, Number.MAX_SAFE_INTEGER));
  opt(o, out, 'job_class', path, (v, p) => str(v, p, 0, 64));
  opt(o, out, 'status_effects', path, strings(64));
  opt(o, out, 'buffs', path, strings(64));
  opt(o, out, 'is_sitting', path, bool);
  opt(o, out, 'is_dead', path, bool);
  return frozen(out) as Partial<Character>;
}

function monster(v: unknown, path: string): Monster {
  const o = obj(v, path);
  const out: Obj = { id: int(o.id, `${path}.id`, 0, Number.MAX_SAFE_INTEGER) };
  opt(o, out, 'name', path, (x, p) => str(x, p, 0, 64));
  opt(o, out, 'level', path, (x, p) => int(x, p, 0, 1000));
  opt(o, out, 'hp', path, (x, p) => int(x, p, 0, MAX));
  opt(o, out, 'max_hp', path, (x, p) => int(x, p, 0, MAX));
  opt(o, out, 'distance', path, (x, p) => num(x, p, 0, 100_000));
  opt(o, out, 'position', path, position);
  opt(o, out, 'is_aggressive', path, bool);
  opt(o, out, 'is_attacking_me', path, bool);
  return frozen(out) as unknown as Monster;
}

function skill(v: unknown, path: string): Skill {
  const o = obj(v, path);
  const out: Obj = { id: int(o.id, `${path}.id`, 0, Number.MAX_SAFE_INTEGER) };
  opt(o, out, 'name', path, (x, p) => str(x, p, 0, 64));
  opt(o, out, 'level', path, (x, p) => int(x, p, 0, 100));
  opt(o, out, 'sp_cost', path, (x, p) => int(x, p, 0, 100_000));
  return frozen(out) as unknown as Skill;
}

function item(v: unknown, path: string): InventoryItem {
  const o = obj(v, path);
  const out: Obj = { id: int(o.id, `${path}.id`, 0, Number.MAX_SAFE_INTEGER) };
  opt(o, out, 'name', path, (x, p) => str(x, p, 0, 64));
  opt(o, out, 'amount', path, (x, p) => int(x, p, 0, 1_000_000));
  opt(o, out, 'type', path, (x, p) => str(x, p, 0, 32));
  return frozen(out) as unknown as InventoryItem;
}

function player(v: unknown, path: string): NearbyPlayer {
  const o = obj(v, path);
  const out: Obj = { id: int(o.id, `${path}.id`, 0, Number.MAX_SAFE_INTEGER) };
  opt(o, out, 'name', path, (x, p) => str(x, p, 0, 64));
  opt(o, out, 'level', path, (x, p) => int(x, p, 0, 1000));
  opt(o, out, 'distance', path, (x, p) => num(x, p, 0, 100_000));
  return frozen(out) as unknown as NearbyPlayer;
}

function member(v: unknown, path: string): PartyMember {
  const o = obj(v, path);
  const out: Obj = { name: str(o.name, `${path}.name`, 1, 64) };
  opt(o, out, 'id', path, (x, p) => int(x, p, 0, Number.MAX_SAFE_INTEGER));
  opt(o, out, 'hp', path, (x, p) => int(x, p, 0, MAX));
  opt(o, out, 'max_hp', path, (x, p) => int(x, p, 0, MAX));
  opt(o, out, 'online', path, bool);
  return frozen(out) as unknown as PartyMember;
}

const list =
  <T>(max: number, each: (v: unknown, p: string) => T) =>
  (v: unknown, p: string) =>
    frozen(arr(v, p, max).map((x, i) => each(x, `${p}[${i}]`)));

function lists(o: Obj, out: Obj, path: string): void {
  opt(o, out, 'skills', path, list(256, skill));
  opt(o, out, 'monsters', path, list(256, monster));
  opt(o, out, 'inventory', path, list(512, item));
  opt(o, out, 'nearby_players', path, list(256, player));
  opt(o, out, 'party_members', path, list(64, member));
  opt(o, out, 'timestamp_ms', path, (x, p) => int(x, p, 0, Number.MAX_SAFE_INTEGER));
}

/** A whole game state (the plugin's `game_state`), unknown fields dropped. */
export function parseGameState(v: unknown, path = 'game_state'): GameState {
  const o = obj(v, path);
  const out: Obj = { character: characterFields(obj(o.character, `${path}.character`), `${path}.character`, false) };
  lists(o, out, path);
  return frozen(out) as unknown as GameState;
}

/** A partial game state for merges: every field optional, the same rules otherwise. */
export function parseGameStatePatch(v: unknown, path = 'patch'): PartialGameState {
  const o = obj(v, path);
  const out: Obj = {};
  if (o.character !== undefined) out.character = characterFields(obj(o.character, `${path}.character`), `${path}.character`, true);
  lists(o, out, path);
  return frozen(out) as PartialGameState;
}
