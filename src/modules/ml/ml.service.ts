import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { InvalidRequestError, NotFoundError } from '../../common/errors/app.error';
import { HealthService } from '../health';
import { extractFeatures } from './features';
import { GAME_STATE_READER, type GameStateReader } from './game-state-reader';
import { ACTION_TYPES, type ActionType, CLASS_COUNT, FEATURE_COUNT } from './ml.constants';
import { ModelManager, type ModelStatusView } from './model-manager.service';
import { TrainerService } from './trainer.service';
import type { TrainingBufferStats } from './training-buffer';
import { type OutcomeInput, TrainingDataService } from './training-data.service';

export interface Prediction {
  action_type: ActionType;
  /** Probability of `action_type`. */
  confidence: number;
  /** Every action type's probability. */
  probabilities: Record<ActionType, number>;
  /** The version of the model that computed this prediction. */
  model_version: number;
}

export interface SamplesResult {
  accepted: number;
  /** Refused because the buffer was full. */
  dropped: number;
  /** Refused as invalid. */
  rejected: number;
  buffer_size: number;
}

export interface MlStatusView extends ModelStatusView {
  training_buffer: TrainingBufferStats & { rejected: number };
  training: ReturnType<TrainerService['status']>;
}

/**
 * The ML tier's front door, for the controller and for other modules (the decision path):
 * predictions from features or from a session's current state, outcomes into the training
 * buffer, status. Model management and training live in ModelManager and TrainerService.
 */
@Injectable()
export class MlService implements OnModuleInit {
  private readonly reader: GameStateReader | undefined;

  constructor(
    private readonly models: ModelManager,
    private readonly trainingData: TrainingDataService,
    private readonly trainer: TrainerService,
    private readonly health: HealthService,
    @Optional() @Inject(GAME_STATE_READER) reader?: GameStateReader,
  ) {
    this.reader = reader ?? undefined;
  }

  onModuleInit(): void {
    this.health.registerDecisionEngine('ml', () => this.models.health());
  }

  /** True while a model serves; when false, `predict` throws 503 SERVICE_UNAVAILABLE. */
  get available(): boolean {
    return this.models.available;
  }

  /** The active model's version, or null. */
  get modelVersion(): number | null {
    return this.models.version;
  }

  /**
   * Class probabilities of one feature vector (28 finite numbers, contract order), under the
   * MODEL read lock. Throws InvalidRequestError for a malformed vector, ModelUnavailableError
   * (503) when no model serves, LockTimeoutError (503) if a promotion blocks it too long.
   */
  async predict(features: Float32Array | readonly number[]): Promise<Prediction> {
    const row = toFeatureRow(features);
    const { probabilities, version } = await this.models.infer(row, 1);
    return toPrediction(probabilities, version);
  }

  /** Like `predict`, not counted and without the MODEL lock (warm-up only); undefined when no model serves. */
  async rehearsePredict(features: Float32Array | readonly number[]): Promise<Prediction | undefined> {
    const r = await this.models.rehearse(toFeatureRow(features), 1);
    return r && toPrediction(r.probabilities, r.version);
  }

  /** Prediction from the session's current game state; 404 NOT_FOUND for an unknown session. */
  async predictForSession(sessionId: string, now = Date.now()): Promise<Prediction & { features: number[] }> {
    const state = this.reader?.current(sessionId);
    if (!state) throw new NotFoundError(`No current game state for session ${sessionId}`, { session_id: sessionId });
    const row = extractFeatures(state, { now });
    const prediction = await this.predict(row);
    return { ...prediction, features: Array.from(row) };
  }

  /**
   * Feeds an action's outcome (from the decision path's action feedback) to the training
   * buffer. Synchronous and never waits: false when the sample was invalid or the buffer full.
   */
  recordOutcome(sample: OutcomeInput): boolean {
    return this.trainingData.record(sample, 'feedback') === 'accepted';
  }

  /** Samples posted over the API. */
  recordSamples(samples: readonly OutcomeInput[]): SamplesResult {
    const counts = { accepted: 0, dropped: 0, rejected: 0 };
    for (const s of samples) counts[this.trainingData.record(s, 'api')] += 1;
    return { ...counts, buffer_size: this.trainingData.stats().size };
  }

  status(): MlStatusView {
    return { ...this.models.view(), training_buffer: this.trainingData.stats(), training: this.trainer.status() };
  }
}

function toFeatureRow(features: Float32Array | readonly number[]): Float32Array {
  if (!features || features.length !== FEATURE_COUNT) {
    throw new InvalidRequestError(`features must have exactly ${FEATURE_COUNT} values`, { length: features?.length ?? null });
  }
  const row = features instanceof Float32Array ? features.slice() : Float32Array.from(features);
  for (let i = 0; i < FEATURE_COUNT; i++) {
    if (!Number.isFinite(row[i])) throw new InvalidRequestError(`features[${i}] is not a finite float32`, { index: i });
  }
  return row;
}

export function toPrediction(probabilities: Float32Array, version: number, offset = 0): Prediction {
  const out = {} as Record<ActionType, number>;
  let best = 0;
  for (let c = 0; c < CLASS_COUNT; c++) {
    const p = probabilities[offset + c];
    out[ACTION_TYPES[c]] = p;
    if (p > probabilities[offset + best]) best = c;
  }
  return { action_type: ACTION_TYPES[best], confidence: probabilities[offset + best], probabilities: out, model_version: version };
}
