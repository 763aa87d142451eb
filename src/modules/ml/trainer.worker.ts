/**
 * The training job: reads `training_data` over its own read-only SQLite connection (WAL lets it
 * read while the engine writes), fits the softmax regression, exports the ONNX model and writes
 * it atomically into MODEL_DIR. Runs in a worker thread (this file is the worker's entry), so
 * the engine's event loop keeps serving; `runTrainJob` is also callable directly (tests, tools).
 * Imports nothing from Nest or onnxruntime: the worker stays light.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { actionIndex, CLASS_COUNT, FEATURE_COUNT, TRAINING_ROWS_SQL, type TrainingRow } from './ml.constants';
import { exportSoftmaxRegressionOnnx } from './onnx-export';
import { type Dataset, type TrainMetrics, trainSoftmaxRegression } from './softmax-regression';

export interface TrainJobOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  validationSplit: number;
  seed: number;
  /** The most recent rows considered. */
  maxSamples: number;
  /** Fewer usable rows than this: no model. */
  minSamples: number;
}

export interface TrainJob {
  kind: 'ml-train';
  /** SQLite: the file the worker reads the samples from on a connection of its own. */
  databasePath: string;
  /** PostgreSQL: the samples, read by the engine (the worker has no pool) and handed over. */
  rows?: TrainingRow[];
  /** Absolute path of the model file to write. */
  outputFile: string;
  options: TrainJobOptions;
}

export interface TrainSampleStats {
  /** Rows read (most recent first, at most maxSamples, successful outcomes only). */
  read: number;
  usable: number;
  /** Rows with malformed features or an unknown action. */
  skipped: number;
}

export type TrainJobResult =
  | {
      ok: true;
      outputFile: string;
      sha256: string;
      sizeBytes: number;
      metrics: TrainMetrics;
      samples: TrainSampleStats;
      /** The held-out split, to score the active model on the same rows. */
      validation: { features: Float32Array; labels: Int32Array; count: number };
      trainMs: number;
    }
  | { ok: false; code: 'NOT_ENOUGH_DATA'; message: string; samples: TrainSampleStats; need: number }
  | { ok: false; code: 'FAILED'; message: string };

/**
 * Training learns which action was taken in states where it succeeded (behaviour cloning of
 * successful outcomes); failed outcomes are kept in the table but not imitated.
 */
export function loadTrainingSet(databasePath: string, maxSamples: number): { data: Dataset; stats: TrainSampleStats } {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db.prepare(TRAINING_ROWS_SQL).all(maxSamples) as TrainingRow[];
    return trainingSetOf(rows);
  } finally {
    db.close();
  }
}

/** The usable rows as a dataset (malformed features or unknown actions are skipped and counted). */
export function trainingSetOf(rows: readonly TrainingRow[]): { data: Dataset; stats: TrainSampleStats } {
  const features = new Float32Array(rows.length * FEATURE_COUNT);
  const labels = new Int32Array(rows.length);
  let usable = 0;
  for (const row of rows) {
    const label = actionIndex(row.action);
    let values: unknown;
    try {
      values = JSON.parse(row.features);
    } catch {
      continue;
    }
    if (label === undefined || !Array.isArray(values) || values.length !== FEATURE_COUNT) continue;
    if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
    features.set(values as number[], usable * FEATURE_COUNT);
    labels[usable] = label;
    usable += 1;
  }
  return {
    data: { features: features.subarray(0, usable * FEATURE_COUNT), labels: labels.subarray(0, usable), count: usable, featureCount: FEATURE_COUNT },
    stats: { read: rows.length, usable, skipped: rows.length - usable },
  };
}

export function runTrainJob(job: TrainJob): TrainJobResult {
  try {
    const started = Date.now();
    const { data, stats } = job.rows ? trainingSetOf(job.rows.slice(0, job.options.maxSamples)) : loadTrainingSet(job.databasePath, job.options.maxSamples);
    if (stats.usable < job.options.minSamples) {
      return { ok: false, code: 'NOT_ENOUGH_DATA', message: `${stats.usable} usable samples`, samples: stats, need: job.options.minSamples };
    }
    const o = job.options;
    const { model, metrics, validation } = trainSoftmaxRegression(data, {
      classCount: CLASS_COUNT,
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      l2: o.l2,
      validationSplit: o.validationSplit,
      seed: o.seed,
    });
    const bytes = exportSoftmaxRegressionOnnx(model, {
      docString: 'Softmax regression trained on training_data (successful outcomes)',
      metadata: {
        trained_at: new Date().toISOString(),
        samples: String(stats.usable),
        validation_accuracy: metrics.validation_accuracy.toFixed(4),
      },
    });
    writeFileAtomicSync(job.outputFile, bytes);
    return {
      ok: true,
      outputFile: job.outputFile,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.byteLength,
      metrics,
      samples: stats,
      validation: { features: validation.features, labels: validation.labels, count: validation.count },
      trainMs: Date.now() - started,
    };
  } catch (err) {
    return { ok: false, code: 'FAILED', message: err instanceof Error ? err.message : String(err) };
  }
}

export function writeFileAtomicSync(file: string, bytes: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.writeFileSync(tmp, bytes, { flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

const job = workerData as TrainJob | undefined;
if (parentPort && job?.kind === 'ml-train') {
  const result = runTrainJob(job);
  const transfer = result.ok ? [result.validation.features.buffer as ArrayBuffer, result.validation.labels.buffer as ArrayBuffer] : [];
  parentPort.postMessage(result, transfer);
}
