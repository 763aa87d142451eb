import { FEATURE_COUNT } from './ml.constants';

/**
 * The game state the 28 features are computed from. Field names follow the state module's
 * `GameState` (character, monsters with is_aggressive/is_attacking_me, nearby_players,
 * party_members, timestamp_ms), so a GameState is a GameStateLike; the optional extras
 * (ground_items, map_difficulty, combat, timers) feed the features that need more than one tick.
 * Everything but the character's vitals is optional: a missing value gives the feature's
 * documented neutral value, never NaN.
 */
export interface GameStateLike {
  readonly character: {
    readonly hp: number;
    readonly max_hp: number;
    readonly sp: number;
    readonly max_sp: number;
    readonly weight?: number;
    readonly max_weight?: number;
    readonly level: number;
    readonly job_level?: number;
    readonly zeny?: number;
    /** A list of effects or their count. */
    readonly status_effects?: readonly unknown[] | number;
    /** A list of buffs or their count. */
    readonly buffs?: readonly unknown[] | number;
  };
  readonly monsters?: readonly MonsterLike[];
  readonly nearby_players?: readonly unknown[];
  readonly party_members?: readonly unknown[];
  /** Items lying on the ground in view. */
  readonly ground_items?: readonly unknown[];
  /** 0 (town, easy field) … 1 (hardest dungeon); unknown = 0. */
  readonly map_difficulty?: number;
  /** Session totals. */
  readonly combat?: {
    readonly damage_received?: number;
    readonly damage_dealt?: number;
    readonly kills?: number;
    /** Milliseconds spent in combat this session. */
    readonly time_in_combat_ms?: number;
  };
  /** Epoch milliseconds of past events (absent = never / unknown). */
  readonly timers?: {
    readonly session_started_ms?: number;
    readonly last_combat_ms?: number;
    readonly last_death_ms?: number;
    readonly last_teleport_ms?: number;
  };
  /** Client time of this state, epoch ms; the default clock for the time features. */
  readonly timestamp_ms?: number;
}

export interface MonsterLike {
  readonly level?: number;
  /** Distance in cells. */
  readonly distance?: number;
  readonly is_aggressive?: boolean;
  readonly is_attacking_me?: boolean;
  /** 0…5; when absent it is derived (see `monsterThreat`). */
  readonly threat?: number;
}

/** The distance features' value when no monster is in view (beyond the client's view range). */
export const NO_MONSTER_DISTANCE = 20;
/** The "time since" features saturate at one hour; never / unknown is 1. */
const HOUR_MS = 3_600_000;

/**
 * Units of the 28 features, in contract order. Ratios are in [0, 1]; counts are plain counts
 * (capped); unbounded session totals are log10(1 + x); durations are in hours.
 *
 * | # | feature | value |
 * |---|---|---|
 * | 0 | hp_ratio | hp / max_hp, clamped to [0, 1] (0 when max_hp ≤ 0) |
 * | 1 | sp_ratio | sp / max_sp, likewise |
 * | 2 | weight_ratio | weight / max_weight, likewise (0 when unknown) |
 * | 3 | level_normalized | level / 175, clamped to [0, 2] |
 * | 4 | job_level_normalized | job_level / 70, clamped to [0, 2] |
 * | 5 | zeny_log | log10(1 + zeny) / 10 |
 * | 6 | status_effect_count | count, ≤ 50 |
 * | 7 | buff_count | count, ≤ 50 |
 * | 8 | monster_count | count, ≤ 50 |
 * | 9 | avg_monster_level | mean level (each capped to [0, 999]) of the monsters with a level (0 when none) |
 * | 10 | avg_monster_distance | mean distance in cells, each capped at 20 (20 when none) |
 * | 11 | min_monster_distance | nearest, in cells, capped at 20 (20 when none) |
 * | 12 | max_threat_level | highest monster threat 0…5 (0 when none) |
 * | 13 | aggressive_monster_count | count |
 * | 14 | attacking_me_count | count |
 * | 15 | total_damage_received | log10(1 + session total) |
 * | 16 | total_damage_dealt | log10(1 + session total) |
 * | 17 | kill_count_session | log10(1 + kills this session) |
 * | 18 | player_count_nearby | count, ≤ 100 |
 * | 19 | party_member_count | count, ≤ 12 |
 * | 20 | item_count_ground | count, ≤ 50 |
 * | 21 | map_difficulty | as given, clamped to [0, 1]; 0 when unknown |
 * | 22 | time_of_day | UTC time of day as a fraction of 24 h, [0, 1) |
 * | 23 | time_since_last_combat | hours, clamped to [0, 1]; 1 when never |
 * | 24 | time_since_last_death | hours, clamped to [0, 1]; 1 when never |
 * | 25 | time_since_last_teleport | hours, clamped to [0, 1]; 1 when never |
 * | 26 | session_duration | hours, clamped to [0, 24]; 0 when unknown |
 * | 27 | combat_time_ratio | time in combat / session duration, [0, 1]; 0 when unknown |
 */
export interface ExtractOptions {
  /** Epoch ms the time features are computed at; default `state.timestamp_ms`, else the clock. */
  now?: number;
}

/** The 28 features of `state` in contract order; pure (given `now`), always finite. */
export function extractFeatures(state: GameStateLike, options: ExtractOptions = {}): Float32Array {
  const now = finite(options.now ?? state.timestamp_ms ?? Date.now(), 0);
  const c = state.character;
  const out = new Float32Array(FEATURE_COUNT);

  out[0] = ratio(c.hp, c.max_hp);
  out[1] = ratio(c.sp, c.max_sp);
  out[2] = ratio(c.weight, c.max_weight);
  out[3] = clamp(finite(c.level, 0) / 175, 0, 2);
  out[4] = clamp(finite(c.job_level, 0) / 70, 0, 2);
  out[5] = log1p10(c.zeny) / 10;
  out[6] = count(c.status_effects, 50);
  out[7] = count(c.buffs, 50);

  const monsters = state.monsters ?? [];
  let levelSum = 0;
  let levelCount = 0;
  let distanceSum = 0;
  let minDistance = NO_MONSTER_DISTANCE;
  let maxThreat = 0;
  let aggressive = 0;
  let attacking = 0;
  for (const m of monsters) {
    const level = finite(m.level, NaN);
    if (!Number.isNaN(level)) {
      levelSum += clamp(level, 0, 999);
      levelCount += 1;
    }
    const distance = clamp(finite(m.distance, NO_MONSTER_DISTANCE), 0, NO_MONSTER_DISTANCE);
    distanceSum += distance;
    if (distance < minDistance) minDistance = distance;
    maxThreat = Math.max(maxThreat, monsterThreat(m, c.level));
    if (m.is_aggressive) aggressive += 1;
    if (m.is_attacking_me) attacking += 1;
  }
  out[8] = Math.min(monsters.length, 50);
  out[9] = levelCount ? levelSum / levelCount : 0;
  out[10] = monsters.length ? distanceSum / monsters.length : NO_MONSTER_DISTANCE;
  out[11] = minDistance;
  out[12] = maxThreat;
  out[13] = aggressive;
  out[14] = attacking;

  out[15] = log1p10(state.combat?.damage_received);
  out[16] = log1p10(state.combat?.damage_dealt);
  out[17] = log1p10(state.combat?.kills);
  out[18] = count(state.nearby_players, 100);
  out[19] = count(state.party_members, 12);
  out[20] = count(state.ground_items, 50);
  out[21] = clamp(finite(state.map_difficulty, 0), 0, 1);

  const dayMs = 86_400_000;
  out[22] = (((now % dayMs) + dayMs) % dayMs) / dayMs;
  const t = state.timers ?? {};
  out[23] = sinceHours(now, t.last_combat_ms);
  out[24] = sinceHours(now, t.last_death_ms);
  out[25] = sinceHours(now, t.last_teleport_ms);
  const started = finite(t.session_started_ms, NaN);
  const sessionMs = Number.isNaN(started) ? 0 : Math.max(0, now - started);
  out[26] = clamp(sessionMs / HOUR_MS, 0, 24);
  const inCombat = finite(state.combat?.time_in_combat_ms, 0);
  out[27] = sessionMs > 0 ? clamp(inCombat / sessionMs, 0, 1) : 0;
  return out;
}

/**
 * A monster's threat when the client does not send one: 1, +1 if aggressive, +2 if attacking
 * us, +1 if more than 10 levels above the character; capped at 5.
 */
export function monsterThreat(m: MonsterLike, characterLevel: number): number {
  if (m.threat !== undefined && Number.isFinite(m.threat)) return clamp(m.threat, 0, 5);
  let threat = 1;
  if (m.is_aggressive) threat += 1;
  if (m.is_attacking_me) threat += 2;
  if (Number.isFinite(m.level) && Number.isFinite(characterLevel) && (m.level as number) > characterLevel + 10) threat += 1;
  return Math.min(threat, 5);
}

function finite(value: number | undefined | null, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

function ratio(value: number | undefined, max: number | undefined): number {
  const m = finite(max, 0);
  if (m <= 0) return 0;
  return clamp(finite(value, 0) / m, 0, 1);
}

function log1p10(value: number | undefined): number {
  return Math.log10(1 + Math.max(0, finite(value, 0)));
}

function count(value: readonly unknown[] | number | undefined, cap: number): number {
  const n = Array.isArray(value) ? value.length : finite(value as number | undefined, 0);
  return clamp(Math.floor(n), 0, cap);
}

function sinceHours(now: number, at: number | undefined): number {
  const t = finite(at, NaN);
  if (Number.isNaN(t)) return 1;
  return clamp((now - t) / HOUR_MS, 0, 1);
}
