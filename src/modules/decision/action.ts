/** Action types of the ML model contract (docs/architecture.md "ML model contract"), used everywhere inside the engine. */
export enum ActionType {
  NO_ACTION = 'NO_ACTION',
  MOVE_TO = 'MOVE_TO',
  ATTACK = 'ATTACK',
  USE_SKILL = 'USE_SKILL',
  USE_ITEM = 'USE_ITEM',
  PICK_ITEM = 'PICK_ITEM',
  TALK_NPC = 'TALK_NPC',
  EXECUTE_MACRO = 'EXECUTE_MACRO',
  SEND_COMMAND = 'SEND_COMMAND',
  CHANGE_STATE = 'CHANGE_STATE',
  TELEPORT = 'TELEPORT',
  SIT = 'SIT',
  STAND = 'STAND',
  STORAGE_GET = 'STORAGE_GET',
  STORAGE_PUT = 'STORAGE_PUT',
}

/** The model's output order. */
export const ACTION_TYPES: readonly ActionType[] = Object.values(ActionType);

export type DecisionTier = 'reflex' | 'rule' | 'ml' | 'llm';
export const DECISION_TIERS: readonly DecisionTier[] = ['reflex', 'rule', 'ml', 'llm'];

export enum ActionPriority {
  LOW = 0,
  NORMAL = 1,
  HIGH = 2,
  CRITICAL = 3,
}

export interface Action {
  type: ActionType;
  params: Record<string, unknown>;
  reason: string;
}

export const MOVEMENT = new Set<ActionType>([ActionType.MOVE_TO, ActionType.TELEPORT]);

/**
 * The field plugin's usual name for an action type, without a state to check it against (the
 * decide route answers with plugin-action.ts, which also picks emergency_heal, teleport or
 * sell_items by what the bot holds). Used to match action_feedback to a delivered action.
 */
export function toPluginAction(action: Action): string {
  switch (action.type) {
    case ActionType.ATTACK:
    case ActionType.USE_SKILL:
      return 'attack_monster';
    case ActionType.USE_ITEM:
      return 'use_item';
    case ActionType.MOVE_TO:
      return action.params.flee ? 'emergency_flee' : 'move_to_position';
    case ActionType.TELEPORT:
      return 'teleport';
    case ActionType.SIT:
      return 'rest';
    case ActionType.STAND:
      return 'idle_recover';
    case ActionType.STORAGE_PUT:
      return 'sell_items';
    case ActionType.NO_ACTION:
      return 'continue';
    default:
      return action.type.toLowerCase();
  }
}

const FROM_PLUGIN: Record<string, ActionType> = {
  attack_monster: ActionType.ATTACK,
  attack_nearest: ActionType.ATTACK,
  use_item: ActionType.USE_ITEM,
  use_skill: ActionType.USE_SKILL,
  emergency_heal: ActionType.USE_ITEM,
  emergency_flee: ActionType.MOVE_TO,
  move_to_position: ActionType.MOVE_TO,
  move_to_map: ActionType.MOVE_TO,
  retreat: ActionType.MOVE_TO,
  teleport: ActionType.TELEPORT,
  return_to_town: ActionType.TELEPORT,
  rest: ActionType.SIT,
  idle_recover: ActionType.STAND,
  sell_items: ActionType.STORAGE_PUT,
  continue: ActionType.NO_ACTION,
  idle: ActionType.NO_ACTION,
};

/** The engine's action type for a plugin action string (feedback), or undefined if unknown. */
export function fromPluginAction(action: string): ActionType | undefined {
  if (Object.hasOwn(FROM_PLUGIN, action)) return FROM_PLUGIN[action];
  const upper = action.toUpperCase();
  return (Object.values(ActionType) as string[]).includes(upper) ? (upper as ActionType) : undefined;
}
