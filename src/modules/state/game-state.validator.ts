import { InvalidRequestError } from '../../common/errors/app.error';
import type { Character, EquipmentItem, EveryField, GameState, Guild, InventoryItem, Monster, NearbyPlayer, PartialGameState, PartyMember, Position, Skill } from './game-state';

/**
 * The hot path's edge validation of a game state: the same rules as the DTO classes in
 * dto/game-state.dto.ts (which document the API and validate the cold routes), compiled by
 * hand into straight-line checks — class-validator's reflection costs more than the rest of a
 * tick. It copies only known fields, so unknown ones (newer plugin versions send more) are
 * dropped rather than stored. A spec checks both validators agree.
 *
 * Everything it returns is frozen as it is built (the objects are new and only the engine holds
 * them): a published snapshot is immutable without a second walk to freeze it.
 *
 * Shapes of the OpenKore plugin in the field (docs/field-plugin.md) are accepted as it sends them:
 * skills and nearby players without ids, `party_members` as an object, raw OpenKore values
 * (item type, equip slot, ids, amounts) as numbers or the decimal strings Perl can turn them into.
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

/** Decimal integers as Perl's JSON encoder writes a number it once used as text ("5", "-1"). */
export const DECIMAL_INTEGER = /^-?\d{1,15}$/;

/** A raw OpenKore number: a JSON number, or its decimal string (made a number here). */
export function rawNumber(v: unknown): unknown {
  return typeof v === 'string' && DECIMAL_INTEGER.test(v) ? Number(v) : v;
}

function rawInt(v: unknown, path: string, min: number, max: number): number {
  return int(rawNumber(v), path, min, max);
}

/** A raw value that is an integer or a label (item type "misc", equip slot "unknown"). */
function intOrText(v: unknown, path: string, min: number, max: number, maxLength: number): number | string {
  const n = rawNumber(v);
  if (typeof n === 'number') return int(n, path, min, max);
  if (typeof n !== 'string') fail(path, 'must be an integer number or a string');
  return str(n, path, 0, maxLength);
}

/** Text the client may send as a number (guild ids): kept as text. */
function text(v: unknown, path: string, maxLength: number): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return str(v, path, 0, maxLength);
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

// Field checks take the parent path and the key, and build "parent.key" only to report a failure:
// a valid tick (nearly all of them) allocates no path strings. Objects are built as literals of a
// fixed shape (an absent optional field is `undefined`, which JSON drops): one allocation each,
// no growing property stores.

/** `o[key]` when present (null counts as absent, as for @IsOptional), else undefined. */
function present(o: Obj, key: string): unknown {
  const v = o[key];
  return v === null ? undefined : v;
}

function optInt(o: Obj, key: string, path: string, min: number, max: number): number | undefined {
  const v = present(o, key);
  return v === undefined ? undefined : int(v, `${path}.${key}`, min, max);
}

function optRawInt(o: Obj, key: string, path: string, min: number, max: number): number | undefined {
  const v = present(o, key);
  return v === undefined ? undefined : rawInt(v, `${path}.${key}`, min, max);
}

function optIntOrText(o: Obj, key: string, path: string, min: number, max: number, maxLength: number): number | string | undefined {
  const v = present(o, key);
  return v === undefined ? undefined : intOrText(v, `${path}.${key}`, min, max, maxLength);
}

function optText(o: Obj, key: string, path: string, maxLength: number): string | undefined {
  const v = present(o, key);
  return v === undefined ? undefined : text(v, `${path}.${key}`, maxLength);
}

function optNum(o: Obj, key: string, path: string, min: number, max: number): number | undefined {
  const v = present(o, key);
  return v === undefined ? undefined : num(v, `${path}.${key}`, min, max);
}

function optStr(o: Obj, key: string, path: string, min: number, max: number): string | undefined {
  const v = present(o, key);
  return v === undefined ? undefined : str(v, `${path}.${key}`, min, max);
}

function optBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = present(o, key);
  return v === undefined ? undefined : bool(v, `${path}.${key}`);
}

function optStrings(o: Obj, key: string, path: string, max: number): readonly string[] | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  const p = `${path}.${key}`;
  const list = arr(v, p, max);
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i += 1) out[i] = str(list[i], `${p}[${i}]`, 0, 256);
  return frozen(out);
}

function optList<T>(o: Obj, key: string, path: string, max: number, each: (v: unknown, path: string) => T): readonly T[] | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  const p = `${path}.${key}`;
  const list = arr(v, p, max);
  const out = new Array<T>(list.length);
  for (let i = 0; i < list.length; i += 1) out[i] = each(list[i], `${p}[${i}]`);
  return frozen(out);
}

/** A character field the whole state must have; in a patch it may be absent (or null). */
function required(o: Obj, key: string, path: string, partial: boolean): unknown {
  const v = o[key];
  if (v === undefined || (partial && v === null)) {
    if (!partial) fail(`${path}.${key}`, 'is required');
    return undefined;
  }
  return v;
}

/** Freezes an object built with every field of T (a compile error names a field left out). */
const frozen = <T>(o: EveryField<T>): T => Object.freeze(o) as T;

function position(v: unknown, path: string): Position {
  const o = obj(v, path);
  return frozen<Position>({ map: str(o.map, `${path}.map`, 1, 64), x: int(o.x, `${path}.x`, 0, 100_000), y: int(o.y, `${path}.y`, 0, 100_000) });
}

function reqStr(o: Obj, key: string, path: string, partial: boolean, min: number, max: number): string | undefined {
  const v = required(o, key, path, partial);
  return v === undefined ? undefined : str(v, `${path}.${key}`, min, max);
}

function reqInt(o: Obj, key: string, path: string, partial: boolean, min: number, max: number): number | undefined {
  const v = required(o, key, path, partial);
  return v === undefined ? undefined : int(v, `${path}.${key}`, min, max);
}

function reqPosition(o: Obj, path: string, partial: boolean): Position | undefined {
  const v = required(o, 'position', path, partial);
  return v === undefined ? undefined : position(v, `${path}.position`);
}

function characterFields(o: Obj, path: string, partial: boolean): Partial<Character> {
  // A literal evaluates in order: the first invalid field (in this order) is the one reported.
  return frozen<Partial<Character>>({
    name: reqStr(o, 'name', path, partial, 1, 64),
    level: reqInt(o, 'level', path, partial, 1, 1000),
    hp: reqInt(o, 'hp', path, partial, 0, MAX),
    max_hp: reqInt(o, 'max_hp', path, partial, 1, MAX),
    sp: reqInt(o, 'sp', path, partial, 0, MAX),
    max_sp: reqInt(o, 'max_sp', path, partial, 0, MAX),
    position: reqPosition(o, path, partial),
    job_level: optInt(o, 'job_level', path, 0, 1000),
    weight: optInt(o, 'weight', path, 0, MAX),
    max_weight: optInt(o, 'max_weight', path, 0, MAX),
    zeny: optInt(o, 'zeny', path, 0, Number.MAX_SAFE_INTEGER),
    job_class: optStr(o, 'job_class', path, 0, 64),
    status_effects: optStrings(o, 'status_effects', path, 64) as string[] | undefined,
    buffs: optStrings(o, 'buffs', path, 64) as string[] | undefined,
    is_sitting: optBool(o, 'is_sitting', path),
    is_dead: optBool(o, 'is_dead', path),
    equipment: optList(o, 'equipment', path, 64, equipment) as EquipmentItem[] | undefined,
    guild: optGuild(o, path),
  });
}

const MAX_SLOT = 2 ** 31;

function equipment(v: unknown, path: string): EquipmentItem {
  const o = obj(v, path);
  return frozen<EquipmentItem>({
    slot: optIntOrText(o, 'slot', path, 0, MAX_SLOT, 32),
    name: optStr(o, 'name', path, 0, 128),
    id: optRawInt(o, 'id', path, 0, Number.MAX_SAFE_INTEGER),
  });
}

/** The field plugin's `{name, id, position}` (strings, "" without a guild); a bare string is the guild's name. */
function optGuild(o: Obj, path: string): Guild | undefined {
  const v = present(o, 'guild');
  if (v === undefined) return undefined;
  const p = `${path}.guild`;
  if (typeof v === 'string') return frozen<Guild>({ name: str(v, p, 0, 64), id: undefined, position: undefined });
  const g = obj(v, p);
  return frozen<Guild>({ name: optText(g, 'name', p, 64), id: optText(g, 'id', p, 64), position: optText(g, 'position', p, 64) });
}

function monster(v: unknown, path: string): Monster {
  const o = obj(v, path);
  const pos = present(o, 'position');
  return frozen<Monster>({
    id: rawInt(o.id, `${path}.id`, 0, Number.MAX_SAFE_INTEGER),
    name: optStr(o, 'name', path, 0, 64),
    level: optInt(o, 'level', path, 0, 1000),
    hp: optInt(o, 'hp', path, 0, MAX),
    max_hp: optInt(o, 'max_hp', path, 0, MAX),
    distance: optNum(o, 'distance', path, 0, 100_000),
    position: pos === undefined ? undefined : position(pos, `${path}.position`),
    is_aggressive: optBool(o, 'is_aggressive', path),
    is_attacking_me: optBool(o, 'is_attacking_me', path),
  });
}

function skill(v: unknown, path: string): Skill {
  const o = obj(v, path);
  return frozen<Skill>({
    id: optRawInt(o, 'id', path, 0, Number.MAX_SAFE_INTEGER),
    name: optStr(o, 'name', path, 0, 64),
    level: optRawInt(o, 'level', path, 0, 100),
    sp_cost: optRawInt(o, 'sp_cost', path, 0, 100_000),
  });
}

function item(v: unknown, path: string): InventoryItem {
  const o = obj(v, path);
  return frozen<InventoryItem>({
    id: rawInt(o.id, `${path}.id`, 0, Number.MAX_SAFE_INTEGER),
    name: optStr(o, 'name', path, 0, 128),
    amount: optRawInt(o, 'amount', path, 0, 1_000_000),
    type: optIntOrText(o, 'type', path, 0, 10_000, 32),
    equipped: optBool(o, 'equipped', path),
    invIndex: optRawInt(o, 'invIndex', path, 0, 1_000_000),
  });
}

function player(v: unknown, path: string): NearbyPlayer {
  const o = obj(v, path);
  return frozen<NearbyPlayer>({
    id: optRawInt(o, 'id', path, 0, Number.MAX_SAFE_INTEGER),
    name: optStr(o, 'name', path, 0, 64),
    level: optInt(o, 'level', path, 0, 1000),
    distance: optNum(o, 'distance', path, 0, 100_000),
    guild: optStr(o, 'guild', path, 0, 64),
    is_party_member: optBool(o, 'is_party_member', path),
    job_class: optStr(o, 'job_class', path, 0, 64),
  });
}

function member(v: unknown, path: string): PartyMember {
  const o = obj(v, path);
  return frozen<PartyMember>({
    name: str(o.name, `${path}.name`, 1, 64),
    id: optInt(o, 'id', path, 0, Number.MAX_SAFE_INTEGER),
    hp: optInt(o, 'hp', path, 0, MAX),
    max_hp: optInt(o, 'max_hp', path, 0, MAX),
    online: optBool(o, 'online', path),
  });
}

/**
 * Party members as a list, or as the field plugin's object (always `{}` there; were it filled,
 * its values are the members, keyed by name).
 */
function optParty(o: Obj, path: string): PartyMember[] | undefined {
  const v = present(o, 'party_members');
  if (v === undefined || Array.isArray(v)) return optList(o, 'party_members', path, 64, member) as PartyMember[] | undefined;
  return optList({ party_members: partyList(obj(v, `${path}.party_members`)) }, 'party_members', path, 64, member) as PartyMember[];
}

/** `{name: {...}}` → `[{name, ...}]`; shared with the DTO so both read the object form alike. */
export function partyList(byName: Obj): unknown[] {
  return Object.keys(byName).map((name) => {
    const m = byName[name];
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return m;
    const member = m as Obj;
    return member.name === undefined || member.name === null ? { ...member, name } : member;
  });
}

/** A state around `character`: the lists and the timestamp, the same for whole states and patches. */
function withLists<C>(character: C, o: Obj, path: string) {
  return frozen<Omit<GameState, 'character'> & { character: C }>({
    character,
    skills: optList(o, 'skills', path, 256, skill) as Skill[] | undefined,
    monsters: optList(o, 'monsters', path, 256, monster) as Monster[] | undefined,
    inventory: optList(o, 'inventory', path, 512, item) as InventoryItem[] | undefined,
    nearby_players: optList(o, 'nearby_players', path, 256, player) as NearbyPlayer[] | undefined,
    party_members: optParty(o, path),
    timestamp_ms: optInt(o, 'timestamp_ms', path, 0, Number.MAX_SAFE_INTEGER),
  });
}

/** A whole game state (the plugin's `game_state`), unknown fields dropped. */
export function parseGameState(v: unknown, path = 'game_state'): GameState {
  const o = obj(v, path);
  return withLists(characterFields(obj(o.character, `${path}.character`), `${path}.character`, false) as Character, o, path);
}

/** A partial game state for merges: every field optional, the same rules otherwise. */
export function parseGameStatePatch(v: unknown, path = 'patch'): PartialGameState {
  const o = obj(v, path);
  const character = o.character === undefined ? undefined : characterFields(obj(o.character, `${path}.character`), `${path}.character`, true);
  return withLists(character, o, path);
}
