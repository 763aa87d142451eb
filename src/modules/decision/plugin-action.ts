import type { GameState, InventoryItem, Monster } from '../state';
import { hpRatio } from '../state';
import { type Action, ActionType } from './action';
import { BUTTERFLY_WING, FLY_WING, fleeFrom, type HealingIds, holds, isDying, REFLEX, TELEPORT_SKILL, teleportSkill } from './tiers/reflex.tier';

/**
 * The decide answer for the OpenKore plugin in the field (docs/field-plugin.md §4.3): one of the
 * action types it executes, with the parameters it reads, checked against the state the bot
 * just sent — a target it can see, an item it holds, a place to go. What it cannot execute
 * becomes `continue` (a no-op it knows), never a type it would only log.
 */

/** Every type this engine answers the field plugin with. */
export const PLUGIN_ACTIONS = [
  'attack_monster',
  'use_item',
  'emergency_heal',
  'emergency_flee',
  'teleport',
  'return_to_town',
  'move_to_position',
  'move_to_map',
  'rest',
  'idle_recover',
  'sell_items',
  'continue',
] as const;
export type PluginActionType = (typeof PLUGIN_ACTIONS)[number];

/** Types that send the bot into a fight: never for a dying character. */
export const OFFENSIVE_PLUGIN_ACTIONS: ReadonlySet<string> = new Set(['attack', 'attack_monster', 'attack_nearest', 'hunt_monsters', 'farm_monsters', 'explore_map', 'give_buff']);

/**
 * The plugin's emergency_heal uses the first of 507, 501, 502, 506 it holds; of those, Red Herb,
 * Red Potion and Orange Potion restore HP (506, Green Potion, only cures), so emergency_heal is
 * answered only when one of these three is held.
 */
export const PLUGIN_HP_EMERGENCY_ITEMS: readonly number[] = [507, 501, 502];

export interface PluginAnswer {
  action: PluginActionType;
  params: Record<string, unknown>;
  reason: string;
}

/** What the mapping needs to know beside the state (from the data tables). */
export interface PluginKnowledge {
  healing: HealingIds;
  /** Whether the bot holds loot worth a trip to a Tool Dealer (the sell_junk route would sell something). */
  holdsJunk(state: Readonly<GameState>): boolean;
  /** OpenKore skill handle for a numeric skill id. */
  skillHandle(id: number): string | undefined;
}

export function toPluginAnswer(action: Action, state: Readonly<GameState>, k: PluginKnowledge): PluginAnswer {
  const answer = translate(action, state, k);
  // The engine's safety net already refuses offensive actions at low HP; this holds for whatever
  // the translation produced too (e.g. a queued macro action).
  if (isDying(state) && OFFENSIVE_PLUGIN_ACTIONS.has(answer.action)) {
    return escape(state, k, `HP ${Math.round(hpRatio(state) * 100)}%: not fighting (${answer.reason})`);
  }
  return answer;
}

function translate(action: Action, state: Readonly<GameState>, k: PluginKnowledge): PluginAnswer {
  const p = action.params ?? {};
  const reason = action.reason;
  const cannot = (why: string): PluginAnswer => ({ action: 'continue', params: {}, reason: `${reason ? `${reason}; ` : ''}${why}` });
  switch (action.type) {
    case ActionType.NO_ACTION:
      // Not `idle`: the plugin's idle blocks OpenKore for its duration.
      return { action: 'continue', params: {}, reason };
    case ActionType.ATTACK:
    case ActionType.USE_SKILL: {
      const skill = action.type === ActionType.USE_SKILL ? skillHandleOf(p, k) : undefined;
      if (action.type === ActionType.USE_SKILL && p.target_id === undefined) return cannot(`the field plugin cannot cast ${skill ?? 'a skill'} by itself`);
      const target = visible(state, p.target_id) ?? nearest(state);
      if (!target) return cannot('no monster in sight');
      return {
        action: 'attack_monster',
        params: { target_id: target.id, target_name: target.name ?? String(target.id), ...(skill ? { skill } : {}) },
        reason: target.id === p.target_id ? reason : `${reason} (target ${String(p.target_id)} gone: the nearest instead)`,
      };
    }
    case ActionType.USE_ITEM: {
      const item = heldItem(state, p);
      const low = hpRatio(state) < REFLEX.heal;
      if (low && (item === undefined || k.healing.has(item.id)) && holdsAny(state, PLUGIN_HP_EMERGENCY_ITEMS)) return { action: 'emergency_heal', params: {}, reason };
      if (item?.name) return { action: 'use_item', params: { item: item.name, item_id: item.id }, reason };
      return cannot('the item is not in the inventory');
    }
    case ActionType.TELEPORT:
      return teleport(state, reason) ?? { action: 'emergency_flee', params: fleeTarget(state), reason: `${reason}; nothing to teleport with` };
    case ActionType.MOVE_TO: {
      if (p.flee) return { action: 'emergency_flee', params: point(p) ?? fleeTarget(state), reason };
      const map = typeof p.map === 'string' ? p.map : undefined;
      if (map && map !== state.character.position.map) return { action: 'move_to_map', params: { target_map: map }, reason };
      const to = point(p);
      return to ? { action: 'move_to_position', params: { ...to, reason }, reason } : cannot('no place to go');
    }
    case ActionType.SIT:
      return { action: 'rest', params: {}, reason };
    case ActionType.STAND:
      // idle_recover stands a sitting bot up; it also pauses /decide for `duration` seconds.
      return { action: 'idle_recover', params: { duration: 1 }, reason };
    case ActionType.STORAGE_PUT:
      return k.holdsJunk(state) ? { action: 'sell_items', params: { reason, priority: 'normal' }, reason } : cannot('no loot the junk table would sell');
    default:
      return cannot(`${action.type} is not something the field plugin can do`);
  }
}

/** Low HP, no fight: heal if possible, else teleport, else run. */
export function escape(state: Readonly<GameState>, k: PluginKnowledge, reason: string): PluginAnswer {
  if (holdsAny(state, PLUGIN_HP_EMERGENCY_ITEMS)) return { action: 'emergency_heal', params: {}, reason };
  const potion = state.inventory?.find((i) => holds(i) && k.healing.has(i.id) && i.name);
  if (potion) return { action: 'use_item', params: { item: potion.name, item_id: potion.id }, reason };
  return teleport(state, reason) ?? { action: 'emergency_flee', params: fleeTarget(state), reason };
}

function teleport(state: Readonly<GameState>, reason: string): PluginAnswer | undefined {
  if (holdsAny(state, [FLY_WING])) return { action: 'teleport', params: { method: 'fly_wing' }, reason };
  if (teleportSkill(state)) return { action: 'teleport', params: { method: 'skill', skill: TELEPORT_SKILL.handle }, reason };
  // The plugin's return_to_town uses a Butterfly Wing first.
  if (holdsAny(state, [BUTTERFLY_WING])) return { action: 'return_to_town', params: { reason }, reason };
  return undefined;
}

function fleeTarget(state: Readonly<GameState>): { x: number; y: number } {
  const attackers = (state.monsters ?? []).filter((m) => m.is_attacking_me || m.is_aggressive);
  const move = fleeFrom(state as GameState, attackers, '');
  return { x: move.params.x as number, y: move.params.y as number };
}

function point(p: Record<string, unknown>): { x: number; y: number } | undefined {
  const x = p.x;
  const y = p.y;
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) return undefined;
  return { x: Math.max(0, Math.round(x)), y: Math.max(0, Math.round(y)) };
}

function visible(state: Readonly<GameState>, id: unknown): Monster | undefined {
  if (typeof id !== 'number') return undefined;
  return state.monsters?.find((m) => m.id === id);
}

function nearest(state: Readonly<GameState>): Monster | undefined {
  let best: Monster | undefined;
  for (const m of state.monsters ?? []) if (!best || (m.distance ?? Infinity) < (best.distance ?? Infinity)) best = m;
  return best;
}

function holdsAny(state: Readonly<GameState>, ids: readonly number[]): boolean {
  return (state.inventory ?? []).some((i) => holds(i) && ids.includes(i.id));
}

/** The inventory item an action names: by id, else by name (any case); only one the bot holds. */
function heldItem(state: Readonly<GameState>, p: Record<string, unknown>): InventoryItem | undefined {
  const inventory = (state.inventory ?? []).filter(holds);
  const id = typeof p.item_id === 'number' ? p.item_id : undefined;
  if (id !== undefined) return inventory.find((i) => i.id === id);
  const name = typeof p.item_name === 'string' ? p.item_name : typeof p.item === 'string' ? p.item : undefined;
  return name === undefined ? undefined : inventory.find((i) => i.name?.toLowerCase() === name.toLowerCase());
}

/** A skill named by OpenKore handle (SM_BASH), or by id through the skill table. */
function skillHandleOf(p: Record<string, unknown>, k: PluginKnowledge): string | undefined {
  for (const key of ['skill', 'skill_name', 'handle']) {
    const v = p[key];
    if (typeof v === 'string' && /^[A-Z][A-Z0-9_]*$/.test(v)) return v;
  }
  return typeof p.skill_id === 'number' ? k.skillHandle(p.skill_id) : undefined;
}
