import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { PeriodicJobs } from '../../common/scheduling';
import { DatabaseService } from '../../common/database/database.service';
import { isOutOfSpace, StorageFullError } from '../../common/errors/storage.errors';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { FEATURE_COUNT, isActionType, TRAINING_ROWS_SQL, type TrainingRow } from './ml.constants';
import { type SampleSource, TrainingBuffer, type TrainingBufferStats, type TrainingSample } from './training-buffer';

/** An outcome as callers hand it in (HTTP samples, action feedback from the decision path). */
export interface OutcomeInput {
  features: ArrayLike<number>;
  /** One of ACTION_TYPES. */
  action: string;
  reward?: number;
  success: boolean;
  session_id?: string | null;
  model_version?: number | null;
  /** Epoch ms; default now. */
  timestamp_ms?: number;
}

const INSERT_SQL = `INSERT INTO training_data (session_id, features, action, reward, success, source, model_version, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Owns the training-data buffer: validates outcomes, buffers them (never blocking), and writes
 * batches to `training_data` through the database helper, one transaction per batch.
 */
@Injectable()
export class TrainingDataService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(TrainingDataService.name);
  readonly buffer: TrainingBuffer;
  private rejected = 0;

  /** The samples a training run reads (PostgreSQL: read here and handed to the worker). */
  rowsForTraining(maxSamples: number): Promise<TrainingRow[]> {
    return this.db.all<TrainingRow>(TRAINING_ROWS_SQL, [maxSamples]);
  }

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DatabaseService,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    this.buffer = new TrainingBuffer(
      { write: (batch) => this.writeBatch(batch) },
      {
        capacity: config.mlBufferCapacity,
        batchSize: config.mlFlushBatchSize,
        flushIntervalMs: config.mlFlushIntervalMs,
        onError: (err, size) => {
          // A full disk is reported once by the storage guard, not at every retry.
          if (!(isOutOfSpace(err) && this.db.storage.writesFailing)) this.logger.error({ err, batch: size }, 'training data flush failed; the batch stays buffered');
        },
      },
    );
  }

  onModuleInit(): void {
    this.buffer.start(this.jobs);
  }

  // Before TypeORM closes the connection in its own shutdown hook.
  async beforeApplicationShutdown(): Promise<void> {
    const size = this.buffer.size;
    const complete = await this.buffer.close();
    if (!complete) this.logger.error({ left: this.buffer.size }, 'training samples could not be written at shutdown');
    else if (size > 0) this.logger.log({ written: size }, 'training buffer flushed at shutdown');
  }

  /**
   * Buffers one outcome: 'accepted', 'rejected' (invalid; counted) or 'dropped' (buffer full or
   * closed; counted). Synchronous; never waits on the database.
   */
  record(input: OutcomeInput, source: SampleSource): 'accepted' | 'dropped' | 'rejected' {
    const sample = toSample(input, source);
    if (!sample) {
      this.rejected += 1;
      return 'rejected';
    }
    // Optional: dropped (and counted by the guard) when the disk is critical or writes fail.
    if (this.db.storage.shed('training_data')) return 'dropped';
    return this.buffer.add(sample) ? 'accepted' : 'dropped';
  }

  /** Writes what is buffered now; true when all of it was written. */
  flush(): Promise<boolean> {
    return this.buffer.flush();
  }

  stats(): TrainingBufferStats & { rejected: number } {
    return { ...this.buffer.stats(), rejected: this.rejected };
  }

  private async writeBatch(batch: readonly TrainingSample[]): Promise<void> {
    // Backing off from a full disk: the batch goes back to the buffer without touching the file.
    if (this.db.storage.deferBackground()) throw new StorageFullError('Training samples wait: writes are failing for lack of space', { deferred: true });
    await this.db.write(
      async (tx) => {
        for (const s of batch) {
          await tx.run(INSERT_SQL, [s.sessionId, JSON.stringify(s.features), s.action, s.reward, s.success ? 1 : 0, s.source, s.modelVersion, s.createdAt]);
        }
      },
      { label: 'ml.trainingData.flush' },
    );
  }
}

/** A validated, immutable sample, or undefined when the input breaks the contract. */
export function toSample(input: OutcomeInput, source: SampleSource, now = Date.now()): TrainingSample | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const f = input.features;
  if (!f || f.length !== FEATURE_COUNT) return undefined;
  const features = new Array<number>(FEATURE_COUNT);
  for (let i = 0; i < FEATURE_COUNT; i++) {
    const v = Number(f[i]);
    if (!Number.isFinite(v)) return undefined;
    // Stored as float32, as the model sees it.
    features[i] = Math.fround(v);
  }
  if (!isActionType(input.action)) return undefined;
  const reward = input.reward ?? 0;
  if (typeof reward !== 'number' || !Number.isFinite(reward)) return undefined;
  if (typeof input.success !== 'boolean') return undefined;
  const sessionId = input.session_id ?? null;
  if (sessionId !== null && (typeof sessionId !== 'string' || sessionId.length > 36)) return undefined;
  const version = input.model_version ?? null;
  if (version !== null && !Number.isInteger(version)) return undefined;
  const ts = input.timestamp_ms ?? now;
  if (!Number.isFinite(ts)) return undefined;
  return Object.freeze({
    features: Object.freeze(features),
    action: input.action,
    reward,
    success: input.success,
    sessionId,
    source,
    modelVersion: version,
    createdAt: Math.floor(ts),
  });
}
