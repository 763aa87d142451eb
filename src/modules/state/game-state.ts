/**
 * The game state's one definition (docs/architecture.md "The game state"). The two other forms are checked
 * against it at compile time: the API's DTO classes (dto/game-state.dto.ts, which document the
 * OpenAPI schema and validate the cold routes) declare exactly these fields, and the hot path's
 * validator (game-state.validator.ts) builds every object with all of them (EveryField).
 * Frozen once published in a snapshot.
 */
export interface Position {
  map: string;
  x: number;
  y: number;
}

export interface Character {
  name: string;
  level: number;
  job_level?: number;
  hp: number;
  max_hp: number;
  sp: number;
  max_sp: number;
  position: Position;
  weight?: number;
  max_weight?: number;
  zeny?: number;
  job_class?: string;
  status_effects?: string[];
  buffs?: string[];
  is_sitting?: boolean;
  is_dead?: boolean;
  /** What the character wears (the field plugin lists it from the first inventory entries). */
  equipment?: EquipmentItem[];
  guild?: Guild;
}

export interface EquipmentItem {
  /** OpenKore's raw equip-slot bitmask, or a label ("unknown" from the field plugin). */
  slot?: number | string;
  name?: string;
  id?: number;
}

export interface Guild {
  name?: string;
  id?: string;
  position?: string;
}

export interface Monster {
  id: number;
  name?: string;
  level?: number;
  hp?: number;
  max_hp?: number;
  distance?: number;
  position?: Position;
  is_aggressive?: boolean;
  is_attacking_me?: boolean;
}

export interface Skill {
  /** Numeric skill id; the field plugin sends none, only the handle in `name`. */
  id?: number;
  /** OpenKore's skill handle (e.g. SM_BASH), or a display name. */
  name?: string;
  level?: number;
  sp_cost?: number;
}

export interface InventoryItem {
  id: number;
  name?: string;
  amount?: number;
  /** OpenKore's raw item type (0 healing, 2 usable, 3 etc, 4 armor, 5 weapon, 6 card…) or a label ("misc", "usable"…). */
  type?: number | string;
  equipped?: boolean;
  /** The client's inventory index, as its `sell`/`is` commands take it. */
  invIndex?: number;
}

export interface NearbyPlayer {
  /** The game id when the client knows it; the field plugin sends names only. */
  id?: number;
  name?: string;
  level?: number;
  distance?: number;
  guild?: string;
  is_party_member?: boolean;
  job_class?: string;
}

export interface PartyMember {
  id?: number;
  name: string;
  hp?: number;
  max_hp?: number;
  online?: boolean;
}

export interface GameState {
  character: Character;
  skills?: Skill[];
  monsters?: Monster[];
  inventory?: InventoryItem[];
  nearby_players?: NearbyPlayer[];
  party_members?: PartyMember[];
  timestamp_ms?: number;
}

/**
 * Every field of T written out, an optional one possibly undefined: the hot validator builds
 * each object as such a literal, so a field added to a type here and not there fails to compile.
 */
export type EveryField<T> = { [K in keyof Required<T>]: K extends keyof T ? T[K] | undefined : never };

export type PartialGameState = Omit<Partial<GameState>, 'character'> & { character?: Partial<Character> };

/** A published version of a session's state: never mutated, so readers need no lock. */
export interface StateSnapshot {
  readonly sessionId: string;
  readonly version: number;
  /** Server time of the update, ms since epoch. */
  readonly updatedAt: number;
  readonly state: Readonly<GameState>;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}

export function hpRatio(state: GameState): number {
  const c = state.character;
  return c.max_hp > 0 ? c.hp / c.max_hp : 0;
}

export function spRatio(state: GameState): number {
  const c = state.character;
  return c.max_sp > 0 ? c.sp / c.max_sp : 0;
}

export function weightRatio(state: GameState): number {
  const c = state.character;
  return c.max_weight && c.max_weight > 0 && c.weight !== undefined ? c.weight / c.max_weight : 0;
}
