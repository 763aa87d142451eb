import type { GameState, InventoryItem, Monster } from '../../state/game-state';
import { hpRatio } from '../../state/game-state';
import { type Action, ActionPriority, ActionType } from '../action';

export interface TierResult {
  action: Action;
  priority: ActionPriority;
}

/** HP ratios that trigger the reflexes; below `critical` nothing offensive is ever chosen. */
export const REFLEX = {
  heal: 0.3,
  critical: 0.15,
} as const;

/** Healing consumables by item id (Red/Orange/Yellow/White potions, herbs, Meat, Apple…). */
const HEALING_ITEM_IDS = new Set([501, 502, 503, 504, 507, 508, 509, 512, 517, 531, 532, 533, 534, 545, 546, 547, 607]);
const HEALING_NAME = /potion|herb|meat|apple|banana|jellopy juice|honey|royal jelly|yggdrasil/i;
/** Fly Wing, Butterfly Wing. */
const ESCAPE_ITEM_IDS = new Set([601, 602]);
const TELEPORT_SKILL_ID = 26;

function has(item: InventoryItem): boolean {
  return item.amount === undefined || item.amount > 0;
}

export function findHealingItem(state: GameState): InventoryItem | undefined {
  return state.inventory?.find(
    (i) => has(i) && !/blue potion/i.test(i.name ?? '') && (HEALING_ITEM_IDS.has(i.id) || HEALING_NAME.test(i.name ?? '')),
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
export function reflexTier(state: GameState): TierResult | undefined {
  const c = state.character;
  if (c.is_dead) {
    return { action: { type: ActionType.CHANGE_STATE, params: { state: 'respawn' }, reason: 'character is dead' }, priority: ActionPriority.CRITICAL };
  }
  const hp = hpRatio(state);
  const pct = Math.round(hp * 100);
  const attackers = (state.monsters ?? []).filter((m) => m.is_attacking_me);
  if (hp < REFLEX.heal) {
    const potion = findHealingItem(state);
    if (potion) {
      return {
        action: { type: ActionType.USE_ITEM, params: { item_id: potion.id, item_name: potion.name }, reason: `HP ${pct}%: healing with ${potion.name ?? `item ${potion.id}`}` },
        priority: ActionPriority.CRITICAL,
      };
    }
  }
  if (hp < REFLEX.critical) {
    const wing = state.inventory?.find((i) => has(i) && ESCAPE_ITEM_IDS.has(i.id));
    if (wing) {
      return {
        action: { type: ActionType.TELEPORT, params: { method: 'item', item_id: wing.id, item_name: wing.name }, reason: `HP ${pct}% and no healing item: teleporting away` },
        priority: ActionPriority.CRITICAL,
      };
    }
    const teleport = state.skills?.find((s) => s.id === TELEPORT_SKILL_ID && (s.sp_cost ?? 10) <= c.sp);
    if (teleport) {
      return {
        action: { type: ActionType.TELEPORT, params: { method: 'skill', skill_id: TELEPORT_SKILL_ID }, reason: `HP ${pct}% and no healing item: teleport skill` },
        priority: ActionPriority.CRITICAL,
      };
    }
    return { action: fleeFrom(state, attackers, `HP ${pct}% and no way to heal: fleeing`), priority: ActionPriority.CRITICAL };
  }
  if (attackers.length > 0 && hp >= REFLEX.heal) {
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
