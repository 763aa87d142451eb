/** Internal game-state types: the validated DTO shape, frozen once published in a snapshot. */
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
  id: number;
  name?: string;
  level?: number;
  sp_cost?: number;
}

export interface InventoryItem {
  id: number;
  name?: string;
  amount?: number;
  type?: string;
}

export interface NearbyPlayer {
  id: number;
  name?: string;
  level?: number;
  distance?: number;
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
