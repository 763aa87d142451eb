import type { GameState, InventoryItem, Monster, Skill } from '../../state';
import { hpRatio } from '../../state';
import { type Action, ActionPriority, ActionType } from '../action';

export interface TierResult {
  action: Action;
  priority: ActionPriority;
}

/** HP ratios that trigger the reflexes; at or below `critical` nothing offensive is ever chosen. */
export const REFLEX = {
  heal: 0.3,
  critical: 0.15,
} as const;

/** At or below 15% HP: heal or get away, never fight. */
export function isDying(state: Readonly<GameState>): boolean {
  return hpRatio(state) <= REFLEX.critical;
}

/** Ids of items that restore HP: the healing table's when loaded (this is its core, for a start without it). */
export type HealingIds = { has(id: number): boolean };
export const BUILT_IN_HEALING: HealingIds = new Set([501, 502, 503, 504, 507, 508, 509, 512, 513, 517, 520, 521, 522, 526, 545, 546, 547]);

export const FLY_WING = 601;
export const BUTTERFLY_WING = 602;
const ESCAPE_ITEM_IDS = new Set([FLY_WING, BUTTERFLY_WING]);
export const TELEPORT_SKILL = { id: 26, handle: 'AL_TELEPORT' } as const;

export function holds(item: InventoryItem): boolean {
  return item.amount === undefined || item.amount > 0;
}

export function findHealingItem(state: Readonly<GameState>, healing: HealingIds = BUILT_IN_HEALING): InventoryItem | undefined {
  return state.inventory?.find((i) => holds(i) && healing.has(i.id));
}

/** The teleport skill, by id or by OpenKore handle (the field plugin sends handles only), if learned and affordable. */
export function teleportSkill(state: Readonly<GameState>): Skill | undefined {
  return state.skills?.find(
    (s) => (s.id === TELEPORT_SKILL.id || s.name === TELEPORT_SKILL.handle) && (s.level === undefined || s.level > 0) && (s.sp_cost ?? 10) <= state.character.sp,
  );
}

function distance(m: Monster): number {
  return m.distance ?? Number.POSITIVE_INFINITY;
}

/** Target selection: among the monsters attacking me, the weakest (lowest HP) then the nearest. */
export function selectTarget(monsters: readonly Monster[]): Monster | undefined {
  return [...monsters].sort((a, b) => (a.hp ?? Infinity) - (b.hp ?? Infinity) || distance(a) - distance(b))[0];
}

/**
 * Reflexes for emergencies: cheap checks that must win over everything else.
 * Low HP with a healing item → use it; very low HP without one → teleport or flee;
 * attacked with HP to spare → fight back, choosing the target.
 */
export function reflexTier(state: GameState, healing: HealingIds = BUILT_IN_HEALING): TierResult | undefined {
  const c = state.character;
  if (c.is_dead) {
    return { action: { type: ActionType.CHANGE_STATE, params: { state: 'respawn' }, reason: 'character is dead' }, priority: ActionPriority.CRITICAL };
  }
  const hp = hpRatio(state);
  const pct = Math.round(hp * 100);
  const attackers = (state.monsters ?? []).filter((m) => m.is_attacking_me);
  if (hp < REFLEX.heal) {
    const potion = findHealingItem(state, healing);
    if (potion) {
      return {
        action: { type: ActionType.USE_ITEM, params: { item_id: potion.id, item_name: potion.name }, reason: `HP ${pct}%: healing with ${potion.name ?? `item ${potion.id}`}` },
        priority: ActionPriority.CRITICAL,
      };
    }
  }
  if (isDying(state)) {
    const wing = state.inventory?.find((i) => holds(i) && ESCAPE_ITEM_IDS.has(i.id));
    if (wing) {
      return {
        action: { type: ActionType.TELEPORT, params: { method: 'item', item_id: wing.id, item_name: wing.name }, reason: `HP ${pct}% and no healing item: teleporting away` },
        priority: ActionPriority.CRITICAL,
      };
    }
    if (teleportSkill(state)) {
      return {
        action: {
          type: ActionType.TELEPORT,
          params: { method: 'skill', skill: TELEPORT_SKILL.handle, skill_id: TELEPORT_SKILL.id },
          reason: `HP ${pct}% and no healing item: teleport skill`,
        },
        priority: ActionPriority.CRITICAL,
      };
    }
    return { action: fleeFrom(state, attackers, `HP ${pct}% and no way to heal: fleeing`), priority: ActionPriority.CRITICAL };
  }
  if (attackers.length > 0 && hp >= REFLEX.heal && !isDying(state)) {
    const target = selectTarget(attackers)!;
    return {
      action: {
        type: ActionType.ATTACK,
        params: { target_id: target.id, target_name: target.name },
        reason: `attacked by ${attackers.length} monster(s): fighting back at ${target.name ?? target.id}`,
      },
      priority: ActionPriority.HIGH,
    };
  }
  return undefined;
}

/** A move directly away from the attackers' centroid (or any direction when none is placed). */
export function fleeFrom(state: GameState, threats: readonly Monster[], reason: string): Action {
  const pos = state.character.position;
  const placed = threats.filter((m) => m.position);
  let dx = 1;
  let dy = 0;
  if (placed.length > 0) {
    const cx = placed.reduce((s, m) => s + m.position!.x, 0) / placed.length;
    const cy = placed.reduce((s, m) => s + m.position!.y, 0) / placed.length;
    dx = pos.x - cx;
    dy = pos.y - cy;
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
  }
  const step = 12;
  return {
    type: ActionType.MOVE_TO,
    params: { map: pos.map, x: Math.max(0, Math.round(pos.x + dx * step)), y: Math.max(0, Math.round(pos.y + dy * step)), flee: true },
    reason,
  };
}
