/** Action types of the ML model contract (DESIGN.md), used everywhere inside the engine. */
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
 * The action strings the OpenKore plugin in the field executes. Fleeing is a movement the
 * plugin knows by its own name; anything it has no name for is sent lower-cased.
 */
export function toPluginAction(action: Action): string {
  switch (action.type) {
    case ActionType.ATTACK:
      return 'attack_monster';
    case ActionType.USE_ITEM:
      return 'use_item';
    case ActionType.USE_SKILL:
      return 'use_skill';
    case ActionType.MOVE_TO:
      return action.params.flee ? 'emergency_flee' : 'move_to_position';
    case ActionType.TELEPORT:
      return 'emergency_flee';
    case ActionType.SIT:
      return 'rest';
    case ActionType.NO_ACTION:
      return 'idle';
    default:
      return action.type.toLowerCase();
  }
}

const FROM_PLUGIN: Record<string, ActionType> = {
  attack_monster: ActionType.ATTACK,
  use_item: ActionType.USE_ITEM,
  use_skill: ActionType.USE_SKILL,
  emergency_flee: ActionType.MOVE_TO,
  move_to_position: ActionType.MOVE_TO,
  rest: ActionType.SIT,
  idle: ActionType.NO_ACTION,
};

/** The engine's action type for a plugin action string (feedback), or undefined if unknown. */
export function fromPluginAction(action: string): ActionType | undefined {
  if (FROM_PLUGIN[action]) return FROM_PLUGIN[action];
  const upper = action.toUpperCase();
  return (Object.values(ActionType) as string[]).includes(upper) ? (upper as ActionType) : undefined;
}
