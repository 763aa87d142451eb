import type { GameState } from '../state';

/**
 * What the decision path needs from the ML module: a port the decision module owns and the ML
 * module implements (MlPredictorAdapter). The ML module is global and provides it under this
 * token; the decision path injects it as optional, and skips the ML tier without it or while no
 * model is loaded.
 */
export const ML_PREDICTOR = Symbol('ML_PREDICTOR');

export interface MlPrediction {
  action_type: string;
  confidence: number;
  model_version: number;
}

export interface MlPredictor {
  /** False while no valid model is loaded (the tier is skipped, health says degraded). */
  readonly available: boolean;
  predictState(state: Readonly<GameState>): Promise<MlPrediction>;
  /** `predictState` counted nowhere (no inference counters, no lock): warm-up only. */
  rehearse?(state: Readonly<GameState>): Promise<MlPrediction>;
  /** Feeds an action's outcome (from action feedback) to the training data; never blocks. */
  recordOutcome?(sample: { state: Readonly<GameState>; action_type: string; success: boolean; session_id: string }): void;
}
