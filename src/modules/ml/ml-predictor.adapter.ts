import { Injectable } from '@nestjs/common';
import type { MlPrediction, MlPredictor } from '../decision';
import type { GameState } from '../state';
import { extractFeatures, type GameStateLike } from './features';
import { MlService } from './ml.service';

/** The decision path's view of the ML module (ML_PREDICTOR): predictions from a game state. */
@Injectable()
export class MlPredictorAdapter implements MlPredictor {
  constructor(private readonly ml: MlService) {}

  get available(): boolean {
    return this.ml.available;
  }

  async predictState(state: Readonly<GameState>): Promise<MlPrediction> {
    const p = await this.ml.predict(extractFeatures(state as unknown as GameStateLike));
    return { action_type: p.action_type, confidence: p.confidence, model_version: p.model_version };
  }

  /** The same prediction, counted nowhere: the warm-up's (the ONNX session and the feature extraction). */
  async rehearse(state: Readonly<GameState>): Promise<MlPrediction> {
    const p = await this.ml.rehearsePredict(extractFeatures(state as unknown as GameStateLike));
    if (!p) throw new Error('no model serves');
    return { action_type: p.action_type, confidence: p.confidence, model_version: p.model_version };
  }

  recordOutcome(sample: { state: Readonly<GameState>; action_type: string; success: boolean; session_id: string }): void {
    this.ml.recordOutcome({
      features: extractFeatures(sample.state as unknown as GameStateLike),
      action: sample.action_type,
      success: sample.success,
      session_id: sample.session_id,
    });
  }
}
