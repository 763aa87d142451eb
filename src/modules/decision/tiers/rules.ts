import type { GameState, Monster } from '../../state';
import { hpRatio, spRatio, weightRatio } from '../../state';
import { type Action, ActionPriority, ActionType } from '../action';
import type { TierResult } from './reflex.tier';

/** Conditions a rule may test; all given ones must hold. Percentages are 0-100. */
export interface RuleConditions {
  hp_below_pct?: number;
  hp_above_pct?: number;
  sp_below_pct?: number;
  sp_above_pct?: number;
  weight_above_pct?: number;
  min_monsters?: number;
  max_monsters?: number;
  min_aggressive?: number;
  max_aggressive?: number;
  in_map?: string[];
  is_sitting?: boolean;
  min_level?: number;
  max_level?: number;
}

export interface Rule {
  name: string;
  /** Higher first. */
  priority: number;
  when: RuleConditions;
  /** `params.target_id: "$nearest_monster"` is resolved to the nearest monster's id. */
  action: { type: ActionType; params?: Record<string, unknown> };
  reason: string;
}

export interface RuleSet {
  readonly version: number;
  readonly source: string;
  readonly loadedAt: string;
  readonly rules: readonly Rule[];
}

const CONDITION_KEYS: Record<keyof RuleConditions, 'pct' | 'count' | 'level' | 'bool' | 'maps'> = {
  hp_below_pct: 'pct',
  hp_above_pct: 'pct',
  sp_below_pct: 'pct',
  sp_above_pct: 'pct',
  weight_above_pct: 'pct',
  min_monsters: 'count',
  max_monsters: 'count',
  min_aggressive: 'count',
  max_aggressive: 'count',
  in_map: 'maps',
  is_sitting: 'bool',
  min_level: 'level',
  max_level: 'level',
};

/** The rules a fresh engine runs with (RULES_FILE overrides them). */
export const DEFAULT_RULES: Rule[] = [
  {
    name: 'stand_when_recovered',
    priority: 90,
    when: { is_sitting: true, hp_above_pct: 90, sp_above_pct: 80 },
    action: { type: ActionType.STAND },
    reason: 'HP and SP recovered: standing up',
  },
  {
    name: 'rest_when_low',
    priority: 80,
    when: { hp_below_pct: 50, max_aggressive: 0 },
    action: { type: ActionType.SIT },
    reason: 'HP below 50% and no aggressive monster near: resting',
  },
  {
    name: 'rest_for_sp',
    priority: 70,
    when: { sp_below_pct: 15, max_aggressive: 0 },
    action: { type: ActionType.SIT },
    reason: 'SP below 15% and no aggressive monster near: resting',
  },
  {
    name: 'overweight_storage',
    priority: 60,
    when: { weight_above_pct: 85 },
    action: { type: ActionType.STORAGE_PUT, params: { what: 'loot' } },
    reason: 'weight above 85%: storing loot',
  },
  {
    name: 'farm_nearest',
    priority: 50,
    when: { min_monsters: 1, hp_above_pct: 50 },
    action: { type: ActionType.ATTACK, params: { target_id: '$nearest_monster' } },
    reason: 'monster in range: farming the nearest',
  },
];

export class RuleValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid rules: ${problems.join('; ')}`);
  }
}

/** Checks an untrusted rules document (a parsed JSON file); returns the rules sorted by priority. */
export function validateRules(doc: unknown): Rule[] {
  const problems: string[] = [];
  const list = Array.isArray(doc) ? doc : (doc as { rules?: unknown })?.rules;
  if (!Array.isArray(list)) throw new RuleValidationError(['expected an array of rules or {"rules": [...]}']);
  if (list.length > 1000) throw new RuleValidationError(['more than 1000 rules']);
  const names = new Set<string>();
  const rules: Rule[] = [];
  list.forEach((raw: unknown, i) => {
    const at = `rules[${i}]`;
    const r = raw as Partial<Rule> | null;
    if (!r || typeof r !== 'object') return problems.push(`${at}: not an object`);
    if (typeof r.name !== 'string' || !r.name) problems.push(`${at}.name: required string`);
    else if (names.has(r.name)) problems.push(`${at}.name: duplicate "${r.name}"`);
    else names.add(r.name);
    if (typeof r.priority !== 'number' || !Number.isFinite(r.priority)) problems.push(`${at}.priority: required number`);
    if (typeof r.reason !== 'string') problems.push(`${at}.reason: required string`);
    if (!r.action || typeof r.action !== 'object' || !Object.values(ActionType).includes(r.action.type)) {
      problems.push(`${at}.action.type: one of ${Object.values(ActionType).join(', ')}`);
    } else if (r.action.params !== undefined && (typeof r.action.params !== 'object' || r.action.params === null || Array.isArray(r.action.params))) {
      problems.push(`${at}.action.params: object`);
    }
    const when = (r.when ?? {}) as Record<string, unknown>;
    if (typeof when !== 'object' || Array.isArray(when)) problems.push(`${at}.when: object`);
    for (const [key, value] of Object.entries(when)) {
      const kind = CONDITION_KEYS[key as keyof RuleConditions];
      if (!kind) problems.push(`${at}.when.${key}: unknown condition (known: ${Object.keys(CONDITION_KEYS).join(', ')})`);
      else if (kind === 'pct' && !(typeof value === 'number' && value >= 0 && value <= 100)) problems.push(`${at}.when.${key}: 0-100`);
      else if ((kind === 'count' || kind === 'level') && !(Number.isInteger(value) && (value as number) >= 0)) problems.push(`${at}.when.${key}: integer >= 0`);
      else if (kind === 'bool' && typeof value !== 'boolean') problems.push(`${at}.when.${key}: boolean`);
      else if (kind === 'maps' && !(Array.isArray(value) && value.every((m) => typeof m === 'string'))) problems.push(`${at}.when.${key}: array of map names`);
    }
    rules.push({ name: r.name!, priority: r.priority!, when: when as RuleConditions, action: { type: r.action?.type as ActionType, params: r.action?.params ?? {} }, reason: r.reason! });
  });
  if (problems.length) throw new RuleValidationError(problems);
  return rules.sort((a, b) => b.priority - a.priority);
}

function nearest(monsters: readonly Monster[]): Monster | undefined {
  let best: Monster | undefined;
  for (const m of monsters) if (!best || (m.distance ?? Infinity) < (best.distance ?? Infinity)) best = m;
  return best;
}

export function matches(when: RuleConditions, state: GameState): boolean {
  const hp = hpRatio(state) * 100;
  const sp = spRatio(state) * 100;
  const monsters = state.monsters ?? [];
  const c = state.character;
  if (when.hp_below_pct !== undefined && !(hp < when.hp_below_pct)) return false;
  if (when.hp_above_pct !== undefined && !(hp > when.hp_above_pct)) return false;
  if (when.sp_below_pct !== undefined && !(sp < when.sp_below_pct)) return false;
  if (when.sp_above_pct !== undefined && !(sp > when.sp_above_pct)) return false;
  if (when.weight_above_pct !== undefined && !(weightRatio(state) * 100 > when.weight_above_pct)) return false;
  if (when.min_monsters !== undefined && monsters.length < when.min_monsters) return false;
  if (when.max_monsters !== undefined && monsters.length > when.max_monsters) return false;
  if (when.min_aggressive !== undefined || when.max_aggressive !== undefined) {
    const aggressive = monsters.filter((m) => m.is_aggressive || m.is_attacking_me).length;
    if (when.min_aggressive !== undefined && aggressive < when.min_aggressive) return false;
    if (when.max_aggressive !== undefined && aggressive > when.max_aggressive) return false;
  }
  if (when.in_map !== undefined && !when.in_map.includes(c.position.map)) return false;
  if (when.is_sitting !== undefined && !!c.is_sitting !== when.is_sitting) return false;
  if (when.min_level !== undefined && c.level < when.min_level) return false;
  if (when.max_level !== undefined && c.level > when.max_level) return false;
  return true;
}

/** The first rule (by priority) whose conditions hold and whose action can be resolved. */
export function ruleTier(rules: readonly Rule[], state: GameState): (TierResult & { rule: string }) | undefined {
  for (const rule of rules) {
    if (!matches(rule.when, state)) continue;
    // Copied with Object.assign, not a spread: a spread copy whose field then changes type (the
    // monster's numeric id replacing "$nearest_monster") got a hidden class of its own from V8 on
    // every decision: ~1 µs and an old-generation object each (bench/README.md, "Old-generation churn").
    const params: Record<string, unknown> = Object.assign({}, rule.action.params);
    if (params.target_id === '$nearest_monster') {
      const target = nearest(state.monsters ?? []);
      if (!target) continue;
      params.target_id = target.id;
      if (target.name) params.target_name = target.name;
    }
    const action: Action = { type: rule.action.type, params, reason: rule.reason };
    return { action, priority: ActionPriority.NORMAL, rule: rule.name };
  }
  return undefined;
}
