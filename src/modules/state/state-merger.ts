import type { Character, GameState, PartialGameState } from './game-state';

/** docs/architecture.md §9.3 strategies for merging a partial update into the current snapshot. */
export enum MergeStrategy {
  /** A field changes only if the update is at least as new (client `timestamp_ms`) as the snapshot. */
  PREFER_NEWER = 'PREFER_NEWER',
  /** Numeric fields keep the higher value (e.g. experience, zeny counters); others take the update. */
  PREFER_HIGHER = 'PREFER_HIGHER',
  /** The update overwrites every field it carries. */
  LAST_WRITE_WINS = 'LAST_WRITE_WINS',
  /** Any field that differs is a conflict: nothing is applied and the conflicts are returned. */
  MANUAL_RESOLVE = 'MANUAL_RESOLVE',
}

export interface MergeConflict {
  field: string;
  current: unknown;
  incoming: unknown;
}

export interface MergeResult {
  state: GameState;
  conflicts: MergeConflict[];
  /** Fields whose value the update changed. */
  changed: string[];
}

const TOP_LEVEL = ['skills', 'monsters', 'inventory', 'nearby_players', 'party_members'] as const;

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Merges `patch` into `base` field by field (character fields one by one, lists and the
 * position as units). Pure: returns a new state, never touches `base`.
 */
export function mergeState(base: GameState, patch: PartialGameState, strategy: MergeStrategy): MergeResult {
  const conflicts: MergeConflict[] = [];
  const changed: string[] = [];
  const stale =
    strategy === MergeStrategy.PREFER_NEWER &&
    patch.timestamp_ms !== undefined &&
    base.timestamp_ms !== undefined &&
    patch.timestamp_ms < base.timestamp_ms;

  const pick = (field: string, current: unknown, incoming: unknown): unknown => {
    if (incoming === undefined || same(current, incoming)) return current;
    switch (strategy) {
      case MergeStrategy.MANUAL_RESOLVE:
        // An absent field is not a conflict: the update simply does not speak of it.
        if (current === undefined) break;
        conflicts.push({ field, current, incoming });
        return current;
      case MergeStrategy.PREFER_NEWER:
        if (stale) return current;
        break;
      case MergeStrategy.PREFER_HIGHER:
        if (typeof current === 'number' && typeof incoming === 'number' && current >= incoming) return current;
        break;
      case MergeStrategy.LAST_WRITE_WINS:
        break;
    }
    changed.push(field);
    return incoming;
  };

  const character = { ...base.character } as Character & Record<string, unknown>;
  if (patch.character) {
    for (const [key, value] of Object.entries(patch.character)) {
      character[key] = pick(`character.${key}`, (base.character as unknown as Record<string, unknown>)[key], value);
    }
  }
  const state: GameState = { ...base, character };
  const target = state as unknown as Record<string, unknown>;
  for (const key of TOP_LEVEL) {
    target[key] = pick(key, base[key], patch[key]);
  }
  if (patch.timestamp_ms !== undefined && !stale && conflicts.length === 0) {
    state.timestamp_ms = Math.max(patch.timestamp_ms, base.timestamp_ms ?? 0);
  }
  return { state, conflicts, changed };
}
