import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { resolveWorkerEntry } from '../../common/workers/worker-entry';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { FlagService } from '../flags';
import { CLASS_COUNT, FEATURE_COUNT, TRAINED_MODEL_DIR, TRAINING_FLAG } from './ml.constants';
import { NotEnoughTrainingDataError, TrainerUnavailableError, TrainingBusyError, TrainingFailedError } from './ml.errors';
import { ModelManager, type PromotionResult, type StagedModelInfo } from './model-manager.service';
import { readModelFile } from './model-path';
import { OnnxModel } from './onnx-model';
import { accuracyOf, DEFAULT_TRAIN_OPTIONS, type TrainMetrics } from './softmax-regression';
import type { TrainJob, TrainJobOptions, TrainJobResult, TrainSampleStats } from './trainer.worker';
import { TrainingDataService } from './training-data.service';

export type PromotePolicy = 'better' | 'always' | 'never';

export interface TrainRequest {
  epochs?: number;
  batch_size?: number;
  learning_rate?: number;
  l2?: number;
  validation_split?: number;
  seed?: number;
  max_samples?: number;
  promote?: PromotePolicy;
}

export interface TrainReport {
  model_path: string;
  sha256: string;
  size_bytes: number;
  samples: TrainSampleStats;
  metrics: TrainMetrics;
  /** Both measured by onnxruntime on the same validation split. */
  candidate_validation_accuracy: number;
  active_validation_accuracy: number | null;
  active_version: number | null;
  staging: StagedModelInfo;
  promote_policy: PromotePolicy;
  promoted: boolean;
  promotion: PromotionResult | null;
  reason: string;
  train_ms: number;
  duration_ms: number;
}

/** The lease is renewed every ttl/3 while training runs; a dead process frees it within a minute. */
const FLAG_TTL_MS = 60_000;
const EVAL_CHUNK_ROWS = 512;

/**
 * `POST /ml/train` and `npm run train`: under the cross-process `training_in_progress` flag,
 * flush the buffer, train in a worker thread, score the candidate and the active model with
 * onnxruntime on the same validation split, stage the candidate and promote it per policy.
 */
@Injectable()
export class TrainerService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(TrainerService.name);
  private running: { startedAt: number; worker?: Worker } | null = null;
  private lastReport: TrainReport | null = null;
  private lastError: string | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly flags: FlagService,
    private readonly models: ModelManager,
    private readonly trainingData: TrainingDataService,
  ) {}

  status(): { in_progress: boolean; started_at: string | null; last_report: TrainReport | null; last_error: string | null } {
    return {
      in_progress: this.running !== null,
      started_at: this.running ? new Date(this.running.startedAt).toISOString() : null,
      last_report: this.lastReport,
      last_error: this.lastError,
    };
  }

  async train(request: TrainRequest = {}): Promise<TrainReport> {
    // In-process fast path; the flag is what counts across processes.
    if (this.running) throw new TrainingBusyError({ in_progress_since: new Date(this.running.startedAt).toISOString() });
    const entry = resolveWorkerEntry(__dirname, 'src/modules/ml', 'trainer.worker.js');
    if (!entry) throw new TrainerUnavailableError('The trainer worker is not built (run "npm run build")');
    const state: { startedAt: number; worker?: Worker } = { startedAt: Date.now() };
    this.running = state;
    try {
      const lost = new AbortController();
      const lease = await this.flags.tryAcquire(TRAINING_FLAG, FLAG_TTL_MS, { onLost: () => lost.abort() });
      if (!lease) throw new TrainingBusyError({ flag: TRAINING_FLAG, holder: (await this.flags.get(TRAINING_FLAG))?.owner ?? null });
      try {
        const report = await this.trainHoldingFlag(request, entry, state, lost.signal);
        this.lastReport = report;
        this.lastError = null;
        return report;
      } finally {
        await this.flags.release(lease).catch((err: unknown) => this.logger.warn({ err }, 'could not release the training flag'));
      }
    } catch (err) {
      if (!(err instanceof TrainingBusyError)) this.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      this.running = null;
    }
  }

  // A training run does not outlive the engine: its result could no longer be staged anyway.
  async beforeApplicationShutdown(): Promise<void> {
    await this.running?.worker?.terminate();
  }

  private async trainHoldingFlag(request: TrainRequest, entry: string, state: { worker?: Worker }, lost: AbortSignal): Promise<TrainReport> {
    const started = performance.now();
    // The freshest outcomes go in: what is buffered now is written before the worker reads.
    await this.trainingData.flush();
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const relative = `${TRAINED_MODEL_DIR}/model-${stamp}-${Math.random().toString(36).slice(2, 8)}.onnx`;
    const options: TrainJobOptions = {
      epochs: request.epochs ?? DEFAULT_TRAIN_OPTIONS.epochs,
      batchSize: request.batch_size ?? DEFAULT_TRAIN_OPTIONS.batchSize,
      learningRate: request.learning_rate ?? DEFAULT_TRAIN_OPTIONS.learningRate,
      l2: request.l2 ?? DEFAULT_TRAIN_OPTIONS.l2,
      validationSplit: request.validation_split ?? DEFAULT_TRAIN_OPTIONS.validationSplit,
      seed: request.seed ?? DEFAULT_TRAIN_OPTIONS.seed,
      maxSamples: request.max_samples ?? this.config.mlTrainMaxSamples,
      minSamples: this.config.mlTrainMinSamples,
    };
    const job: TrainJob = {
      kind: 'ml-train',
      databasePath: this.config.databasePath,
      // PostgreSQL: the worker has no connection of its own; the samples go in with the job.
      rows: this.config.databaseUrl !== undefined ? await this.trainingData.rowsForTraining(options.maxSamples) : undefined,
      outputFile: path.join(this.config.modelDir, relative),
      options,
    };
    const result = await this.runWorker(entry, job, state, lost);
    if (!result.ok) {
      if (result.code === 'NOT_ENOUGH_DATA') throw new NotEnoughTrainingDataError(result.samples.usable, result.need);
      throw new TrainingFailedError(`Training failed: ${result.message}`);
    }
    if (lost.aborted) throw new TrainingFailedError('The training flag lease was lost; the result is discarded');

    // Score both models with onnxruntime on the worker's validation split.
    const { features, labels, count } = result.validation;
    const candidate = await OnnxModel.load(await readModelFile(result.outputFile), { path: relative, origin: 'train' });
    let candidateAccuracy: number;
    try {
      candidateAccuracy = count ? accuracyOf(await runChunked((f, r) => candidate.run(f, r), features, count), labels, CLASS_COUNT) : 0;
    } finally {
      await candidate.release();
    }
    let activeAccuracy: number | null = null;
    let activeVersion: number | null = null;
    if (this.models.available && count) {
      const versions = new Set<number>();
      const probs = await runChunked(
        async (f, r) => {
          const out = await this.models.infer(f, r);
          versions.add(out.version);
          return out.probabilities;
        },
        features,
        count,
      );
      // A promotion in the middle would mix two models' answers; then the comparison is void.
      if (versions.size === 1) {
        activeAccuracy = accuracyOf(probs, labels, CLASS_COUNT);
        activeVersion = [...versions][0];
      }
    }

    const metrics = { ...result.metrics, candidate_validation_accuracy: candidateAccuracy, active_validation_accuracy: activeAccuracy };
    const staging = await this.models.stage(relative, 'train', metrics);
    const policy = request.promote ?? this.config.mlAutoPromote;
    let promote: boolean;
    let reason: string;
    if (policy === 'always') [promote, reason] = [true, 'policy: always'];
    else if (policy === 'never') [promote, reason] = [false, 'policy: never (the model stays staged)'];
    else if (activeAccuracy === null) [promote, reason] = [true, 'no comparable active model'];
    else if (candidateAccuracy > activeAccuracy) {
      [promote, reason] = [true, `better on validation: ${candidateAccuracy.toFixed(4)} > ${activeAccuracy.toFixed(4)}`];
    } else [promote, reason] = [false, `not better on validation: ${candidateAccuracy.toFixed(4)} ≤ ${activeAccuracy.toFixed(4)} (the model stays staged)`];

    let promotion: PromotionResult | null = null;
    if (promote) {
      // Only the model this run staged: if someone staged another meanwhile, that is a 409.
      promotion = await this.models.promote({ stagingId: staging.staging_id });
    }
    const report: TrainReport = {
      model_path: relative,
      sha256: result.sha256,
      size_bytes: result.sizeBytes,
      samples: result.samples,
      metrics: result.metrics,
      candidate_validation_accuracy: candidateAccuracy,
      active_validation_accuracy: activeAccuracy,
      active_version: activeVersion,
      staging,
      promote_policy: policy,
      promoted: promotion !== null,
      promotion,
      reason,
      train_ms: result.trainMs,
      duration_ms: Math.round(performance.now() - started),
    };
    this.logger.log({ model_path: relative, promoted: report.promoted, reason, samples: result.samples.usable }, 'training finished');
    return report;
  }

  private runWorker(entry: string, job: TrainJob, state: { worker?: Worker }, lost: AbortSignal): Promise<TrainJobResult> {
    return new Promise<TrainJobResult>((resolve, reject) => {
      const worker = new Worker(entry, { workerData: job });
      state.worker = worker;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        lost.removeEventListener('abort', onLost);
        fn();
      };
      const timer = setTimeout(() => {
        finish(() => reject(new TrainerUnavailableError(`Training took longer than ${this.config.mlTrainTimeoutMs} ms and was stopped`)));
        void worker.terminate();
      }, this.config.mlTrainTimeoutMs);
      const onLost = () => {
        finish(() => reject(new TrainingFailedError('The training flag lease was lost; training stopped')));
        void worker.terminate();
      };
      lost.addEventListener('abort', onLost, { once: true });
      worker.once('message', (msg: TrainJobResult) => finish(() => resolve(msg)));
      worker.once('error', (err) => finish(() => reject(new TrainingFailedError(`Trainer worker crashed: ${err.message}`))));
      worker.once('exit', (code) => finish(() => reject(new TrainingFailedError(`Trainer worker exited (${code}) without a result`))));
    });
  }
}

/** Runs rows through `run` in chunks (short read-lock holds), concatenating the probabilities. */
async function runChunked(
  run: (features: Float32Array, rows: number) => Promise<Float32Array>,
  features: Float32Array,
  count: number,
): Promise<Float32Array> {
  const out = new Float32Array(count * CLASS_COUNT);
  for (let start = 0; start < count; start += EVAL_CHUNK_ROWS) {
    const rows = Math.min(EVAL_CHUNK_ROWS, count - start);
    // slice, not subarray: onnxruntime wants a tensor that owns its buffer range.
    const chunk = features.slice(start * FEATURE_COUNT, (start + rows) * FEATURE_COUNT);
    out.set(await run(chunk, rows), start * CLASS_COUNT);
  }
  return out;
}
