/**
 * The ML model contract (docs/architecture.md "ML model contract"): every model the engine runs — shipped,
 * trained here or brought by an operator — takes `input` float32 [N, 28] in FEATURE_NAMES order
 * and yields class probabilities [N, 15] in ACTION_TYPES order.
 */
export const FEATURE_NAMES = [
  'hp_ratio',
  'sp_ratio',
  'weight_ratio',
  'level_normalized',
  'job_level_normalized',
  'zeny_log',
  'status_effect_count',
  'buff_count',
  'monster_count',
  'avg_monster_level',
  'avg_monster_distance',
  'min_monster_distance',
  'max_threat_level',
  'aggressive_monster_count',
  'attacking_me_count',
  'total_damage_received',
  'total_damage_dealt',
  'kill_count_session',
  'player_count_nearby',
  'party_member_count',
  'item_count_ground',
  'map_difficulty',
  'time_of_day',
  'time_since_last_combat',
  'time_since_last_death',
  'time_since_last_teleport',
  'session_duration',
  'combat_time_ratio',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export const ACTION_TYPES = [
  'NO_ACTION',
  'MOVE_TO',
  'ATTACK',
  'USE_SKILL',
  'USE_ITEM',
  'PICK_ITEM',
  'TALK_NPC',
  'EXECUTE_MACRO',
  'SEND_COMMAND',
  'CHANGE_STATE',
  'TELEPORT',
  'SIT',
  'STAND',
  'STORAGE_GET',
  'STORAGE_PUT',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export const FEATURE_COUNT = FEATURE_NAMES.length; // 28
export const CLASS_COUNT = ACTION_TYPES.length; // 15

/** Name of the model's input tensor (fixed by the contract). */
export const INPUT_NAME = 'input';
/** Name of the output tensor of the models this engine exports (other names are accepted). */
export const OUTPUT_NAME = 'probabilities';

/** File name, inside MODEL_DIR, of the model shipped with the project. */
export const DEFAULT_MODEL_FILE = 'default.onnx';
/** Sub-folder of MODEL_DIR where trained models are written. */
export const TRAINED_MODEL_DIR = 'trained';

/** A model file larger than this is refused before it is read (the contract's models are KBs). */
export const MAX_MODEL_BYTES = 64 * 1024 * 1024;

/** The cross-process flag held while training (docs/architecture.md §4.2). */
export const TRAINING_FLAG = 'training_in_progress';
/** The spec's cross-process model version counter, bumped with every promotion. */
export const MODEL_VERSION_COUNTER = 'model_version';

const ACTION_INDEX = new Map<string, number>(ACTION_TYPES.map((a, i) => [a, i]));

export function actionIndex(action: string): number | undefined {
  return ACTION_INDEX.get(action);
}

export function isActionType(value: unknown): value is ActionType {
  return typeof value === 'string' && ACTION_INDEX.has(value);
}

/** A training_data row as the trainer reads it. */
export interface TrainingRow {
  features: string;
  action: string;
}

/** The most recent successful outcomes, newest first (the same statement on both databases). */
export const TRAINING_ROWS_SQL = 'SELECT features, action FROM training_data WHERE success = 1 ORDER BY id DESC LIMIT ?';
