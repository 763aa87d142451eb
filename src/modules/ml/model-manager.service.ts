import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { type CatalogLock, InjectLock, LockName, withLock, WithLock } from '../../common/concurrency';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import type { ModelOrigin } from './entities/model-registry.entity';
import { DEFAULT_MODEL_FILE } from './ml.constants';
import {
  ModelUnavailableError,
  ModelValidationError,
  NoStagedModelError,
  PromotionInProgressError,
  StagingConflictError,
} from './ml.errors';
import { readModelFile, resolveModelPath } from './model-path';
import { MODEL_REGISTRY, type ModelRegistry, type RegistryRow } from './model-registry';
import { type ModelValidationReport, OnnxModel, sha256 } from './onnx-model';
import { buildDefaultModel } from './synthetic-data';

/** The model that serves: an OnnxModel bound to the version it was promoted as. Never mutated. */
interface ActiveModel {
  readonly model: OnnxModel;
  readonly version: number;
  readonly origin: ModelOrigin;
  readonly promotedAt: number;
  readonly metrics: Record<string, unknown> | null;
}

interface StagedModel {
  readonly model: OnnxModel;
  readonly stagingId: number;
  readonly origin: ModelOrigin;
  readonly stagedAt: number;
  readonly metrics: Record<string, unknown> | null;
}

export interface StagedModelInfo {
  staging_id: number;
  path: string;
  sha256: string;
  size_bytes: number;
  origin: ModelOrigin;
  staged_at: string;
  validation: ModelValidationReport;
}

export interface PromotionResult {
  version: number;
  previous_version: number | null;
  path: string;
  sha256: string;
  promoted_at: string;
  /** Time the swap waited for the inferences in flight (MODEL write lock). */
  lock_wait_ms: number;
  /** The whole promotion: registry writes, lock wait, swap. */
  duration_ms: number;
}

export interface InferenceResult {
  /** [rows × 15] probabilities. */
  probabilities: Float32Array;
  /** The version of the model that computed them. */
  version: number;
}

export type MlTierStatus = 'ready' | 'degraded' | 'starting';

export interface ModelStatusView {
  status: MlTierStatus;
  available: boolean;
  version: number | null;
  detail: string | null;
  active: {
    version: number;
    path: string;
    sha256: string;
    size_bytes: number;
    origin: ModelOrigin;
    promoted_at: string;
    loaded_at: string;
    metrics: Record<string, unknown> | null;
    metadata: Record<string, string>;
    input: ModelValidationReport['input'];
    output: ModelValidationReport['output'];
    inference_count: number;
    failed_inferences: number;
    active_inferences: number;
  } | null;
  staging: StagedModelInfo | null;
  promotion_in_progress: boolean;
  total_inferences: number;
  promotions: number;
  last_promotion: PromotionResult | null;
  registry_error: string | null;
}

export interface PromoteOptions {
  /** Promote only if this is still the staged model (409 VERSION_CONFLICT otherwise). */
  stagingId?: number;
  /** Bound on the wait for inferences in flight; default ML_PROMOTE_TIMEOUT_MS. */
  timeoutMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Active and staging models (docs/architecture.md §7.1), the TypeScript way:
 *
 * - `infer` runs under the MODEL read lock, so inferences run side by side, and reports the
 *   version bound to the model object it ran — not a separate counter read at another moment.
 * - `stage` resolves, reads, loads and validates outside any lock; a model that fails the
 *   contract is refused (422) and nothing else changes. A newer stage replaces (and releases) an
 *   older staged model.
 * - `promote` takes the staged model out of `staging` first (so a concurrent stage cannot
 *   release it), allocates the version in `model_registry` (pending), then swaps under the
 *   MODEL write lock. The lock is fair and its wait bounded (ML_PROMOTE_TIMEOUT_MS): the writer
 *   queues behind the inferences in flight, new inferences queue behind the writer, and a
 *   timeout leaves the queue cleanly — instead of the spec's unlock/sleep/relock polling, which
 *   lets a stream of readers starve the promotion. The swap itself is two assignments. Only
 *   after the lock is released is the old session released: nothing can be running on it any
 *   more, because every inference that captured it finished before the write lock was granted.
 * - Counters live on each model (count, failures, in flight) plus process totals, so
 *   promotions do not erase history the way the spec's `inference_count = 0` does.
 */
@Injectable()
export class ModelManager implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ModelManager.name);
  private active: ActiveModel | null = null;
  private staging: StagedModel | null = null;
  private stagingSeq = 0;
  private promoting = false;
  private status: MlTierStatus = 'starting';
  private detail: string | null = null;
  private registryError: string | null = null;
  private totalInferences = 0;
  private promotions = 0;
  private lastPromotion: PromotionResult | null = null;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectLock(LockName.MODEL) private readonly lock: CatalogLock<typeof LockName.MODEL>,
    @Inject(MODEL_REGISTRY) private readonly registry: ModelRegistry,
  ) {}

  /** True when a model is serving. */
  get available(): boolean {
    return this.active !== null;
  }

  get version(): number | null {
    return this.active?.version ?? null;
  }

  onModuleInit(): Promise<void> {
    return this.init();
  }

  /**
   * Boot: loads the last promoted version from the registry; with an empty registry, the default
   * model (generated into MODEL_DIR first if absent) becomes version 1. Never throws: any failure
   * leaves the engine up with the ML tier degraded and says why.
   */
  async init(): Promise<void> {
    try {
      await fsp.mkdir(this.config.modelDir, { recursive: true });
      const last = await this.registry.lastPromoted();
      if (last) await this.loadRegistered(last);
      else await this.installDefault();
    } catch (err) {
      this.degrade(err instanceof Error ? err.message : String(err));
      this.logger.error({ err }, 'ML tier degraded: no model could be loaded at boot');
    }
  }

  /**
   * The active model run on `features` without counting it or taking the MODEL lock: for the
   * warm-up before the engine serves (ONNX allocates on its first runs), when no promotion can
   * be running. Undefined when no model serves.
   */
  async rehearse(features: Float32Array, rows = 1): Promise<InferenceResult | undefined> {
    const current = this.active;
    if (!current) return undefined;
    return { probabilities: await current.model.run(features, rows), version: current.version };
  }

  /** Runs `rows` rows of features through the active model under the MODEL read lock. */
  @WithLock(LockName.MODEL, { mode: 'read' })
  async infer(features: Float32Array, rows = 1): Promise<InferenceResult> {
    const current = this.active;
    if (!current) throw new ModelUnavailableError(this.detail ?? undefined);
    const model = current.model;
    model.activeInferences += 1;
    try {
      const probabilities = await model.run(features, rows);
      model.inferenceCount += rows;
      this.totalInferences += rows;
      return { probabilities, version: current.version };
    } catch (err) {
      model.failedInferences += rows;
      throw err;
    } finally {
      model.activeInferences -= 1;
    }
  }

  /** Loads and validates a model file of MODEL_DIR into staging (no lock held). */
  async stage(modelPath: string, origin: ModelOrigin = 'stage', metrics: Record<string, unknown> | null = null): Promise<StagedModelInfo> {
    const resolved = await resolveModelPath(this.config.modelDir, modelPath);
    const bytes = await readModelFile(resolved.real);
    const model = await OnnxModel.load(bytes, { path: resolved.relative, origin });
    if (this.closed) {
      await model.release();
      throw new ModelUnavailableError('the engine is shutting down');
    }
    const staged: StagedModel = { model, stagingId: ++this.stagingSeq, origin, stagedAt: Date.now(), metrics };
    const replaced = this.staging;
    this.staging = staged;
    if (replaced) await this.releaseQuietly(replaced.model);
    this.logger.log({ staging_id: staged.stagingId, path: resolved.relative, sha256: model.sha256 }, 'model staged');
    return stagedInfo(staged);
  }

  /** Swaps the staged model in (see the class comment). */
  async promote(options: PromoteOptions = {}): Promise<PromotionResult> {
    if (this.promoting) throw new PromotionInProgressError();
    const staged = this.staging;
    if (!staged) throw new NoStagedModelError();
    if (options.stagingId !== undefined && options.stagingId !== staged.stagingId) {
      throw new StagingConflictError(options.stagingId, staged.stagingId);
    }
    this.promoting = true;
    this.staging = null;
    try {
      return await this.swapIn(staged, options.timeoutMs ?? this.config.mlPromoteTimeoutMs);
    } catch (err) {
      // Nothing changed: the staged model goes back unless something newer was staged meanwhile.
      if (this.staging === null && !this.closed) this.staging = staged;
      else await this.releaseQuietly(staged.model);
      throw err;
    } finally {
      this.promoting = false;
    }
  }

  /** Releases the staged model, if any. */
  async discardStaging(): Promise<boolean> {
    const staged = this.staging;
    if (!staged) return false;
    this.staging = null;
    await this.releaseQuietly(staged.model);
    return true;
  }

  registryRows(limit = 50): Promise<RegistryRow[]> {
    return this.registry.list(limit);
  }

  view(): ModelStatusView {
    const a = this.active;
    return {
      status: this.status,
      available: a !== null,
      version: a?.version ?? null,
      detail: this.detail,
      active: a && {
        version: a.version,
        path: a.model.source.path,
        sha256: a.model.sha256,
        size_bytes: a.model.sizeBytes,
        origin: a.origin,
        promoted_at: iso(a.promotedAt),
        loaded_at: iso(a.model.loadedAt),
        metrics: a.metrics,
        metadata: a.model.metadata,
        input: a.model.validation.input,
        output: a.model.validation.output,
        inference_count: a.model.inferenceCount,
        failed_inferences: a.model.failedInferences,
        active_inferences: a.model.activeInferences,
      },
      staging: this.staging && stagedInfo(this.staging),
      promotion_in_progress: this.promoting,
      total_inferences: this.totalInferences,
      promotions: this.promotions,
      last_promotion: this.lastPromotion,
      registry_error: this.registryError,
    };
  }

  /** Health of the ML decision tier: degraded while no model serves. */
  health(): { status: 'healthy' | 'degraded'; detail?: string } {
    if (this.active) return { status: 'healthy', detail: `model version ${this.active.version}` };
    return { status: 'degraded', detail: this.detail ?? 'no active model' };
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.discardStaging();
    // Requests are drained before the app closes; the write lock makes sure of it (bounded).
    try {
      await withLock(
        this.lock,
        async () => {
          const current = this.active;
          this.active = null;
          if (current) await this.releaseQuietly(current.model);
        },
        { mode: 'write', timeoutMs: 5_000 },
      );
    } catch (err) {
      this.logger.warn({ err }, 'active model not released at shutdown');
    }
  }

  private async swapIn(staged: StagedModel, timeoutMs: number): Promise<PromotionResult> {
    const started = performance.now();
    const model = staged.model;
    const previousVersion = this.active?.version ?? null;
    const version = await this.registry.allocate({
      path: model.source.path,
      sha256: model.sha256,
      sizeBytes: model.sizeBytes,
      origin: staged.origin,
      metrics: staged.metrics,
      previousVersion,
    });
    const waitStart = performance.now();
    let lockWait = 0;
    let replaced: ActiveModel | null = null;
    const promotedAt = Date.now();
    try {
      await withLock(
        this.lock,
        () => {
          lockWait = performance.now() - waitStart;
          replaced = this.active;
          this.active = { model, version, origin: staged.origin, promotedAt, metrics: staged.metrics };
        },
        { mode: 'write', timeoutMs },
      );
    } catch (err) {
      this.logger.warn({ err, version }, 'promotion did not happen; the active model is unchanged');
      await this.registry.markFailed(version).catch((e: unknown) => this.logger.error({ err: e, version }, 'could not mark the registry row failed'));
      throw err;
    }
    this.status = 'ready';
    this.detail = null;
    this.promotions += 1;
    const old = replaced as ActiveModel | null;
    if (old && old.model !== model) await this.releaseQuietly(old.model);
    try {
      await this.registry.markPromoted(version, promotedAt);
      this.registryError = null;
    } catch (err) {
      // The model serves; only the record is behind. Shown in GET /ml/model; a restart would
      // load the previous promoted version.
      this.registryError = `version ${version} serves but is not recorded as promoted: ${(err as Error).message}`;
      this.logger.error({ err, version }, 'model promoted but the registry could not be updated');
    }
    const result: PromotionResult = {
      version,
      previous_version: previousVersion,
      path: model.source.path,
      sha256: model.sha256,
      promoted_at: iso(promotedAt),
      lock_wait_ms: round(lockWait),
      duration_ms: round(performance.now() - started),
    };
    this.lastPromotion = result;
    this.logger.log(result, 'model promoted');
    return result;
  }

  /** Boot path for a registered version: the file must still be inside MODEL_DIR with the same sha256. */
  private async loadRegistered(row: RegistryRow): Promise<void> {
    const resolved = await resolveModelPath(this.config.modelDir, row.path);
    const bytes = await readModelFile(resolved.real);
    const digest = sha256(bytes);
    if (digest !== row.sha256) {
      throw new ModelValidationError(
        `model version ${row.version} (${row.path}) changed on disk since it was promoted: sha256 ${digest.slice(0, 12)}… ≠ ${row.sha256.slice(0, 12)}…`,
      );
    }
    const model = await OnnxModel.load(bytes, { path: resolved.relative, origin: 'boot' });
    this.active = { model, version: row.version, origin: row.origin, promotedAt: row.promoted_at ?? row.created_at, metrics: row.metrics };
    this.status = 'ready';
    this.detail = null;
    this.logger.log({ version: row.version, path: row.path }, 'model loaded');
  }

  /** Fresh registry: the default model (generated if missing) is promoted as the first version. */
  private async installDefault(): Promise<void> {
    const file = path.join(this.config.modelDir, DEFAULT_MODEL_FILE);
    const exists = await fsp
      .stat(file)
      .then(() => true)
      .catch(() => false);
    if (!exists) {
      const started = Date.now();
      const { bytes, metrics } = buildDefaultModel();
      await writeFileAtomic(file, bytes);
      this.logger.log({ file, ms: Date.now() - started, validation_accuracy: metrics.validation_accuracy }, 'default model generated');
    }
    await this.stage(DEFAULT_MODEL_FILE, 'default', { note: 'default model (synthetic dataset)' });
    await this.promote();
  }

  private degrade(detail: string): void {
    this.status = this.active ? 'ready' : 'degraded';
    this.detail = detail;
  }

  private async releaseQuietly(model: OnnxModel): Promise<void> {
    try {
      await model.release();
    } catch (err) {
      this.logger.warn({ err }, 'releasing a model session failed');
    }
  }
}

function stagedInfo(s: StagedModel): StagedModelInfo {
  return {
    staging_id: s.stagingId,
    path: s.model.source.path,
    sha256: s.model.sha256,
    size_bytes: s.model.sizeBytes,
    origin: s.origin,
    staged_at: iso(s.stagedAt),
    validation: s.model.validation,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Writes `bytes` to `file` via a temporary file and a rename, so readers never see half a file. */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await fsp.writeFile(tmp, bytes, { flag: 'wx' });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
