/**
 * Multinomial logistic regression (softmax regression) in plain TypeScript: the engine's own
 * trainer. Pure and deterministic for a given dataset and seed (no clock, no Math.random), so
 * it runs the same in a worker thread, in `npm run train` and in unit tests.
 *
 * Training standardizes features on the training split, fits W, b with mini-batch Adam on the
 * mean cross-entropy + L2, keeps the parameters of the epoch with the best validation loss
 * (early stopping), then folds the standardization into the weights so that the exported
 * model is exactly `softmax(x · W + b)` on raw features: one Gemm and one Softmax.
 */

export interface Dataset {
  /** Row-major [count, featureCount]. */
  readonly features: Float32Array;
  /** Class index per row. */
  readonly labels: Int32Array;
  readonly count: number;
  readonly featureCount: number;
}

export interface SoftmaxModel {
  readonly featureCount: number;
  readonly classCount: number;
  /** Row-major [featureCount, classCount] (the Gemm's B), float32 as exported. */
  readonly weights: Float32Array;
  /** [classCount], float32 as exported. */
  readonly bias: Float32Array;
}

export interface TrainOptions {
  classCount: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 penalty on the (standardized) weights. */
  l2?: number;
  /** Fraction of the rows held out for validation, [0, 0.9]. */
  validationSplit?: number;
  /** Seeds the split and the batch order. */
  seed?: number;
  /** Stop after this many epochs without a better validation loss. */
  patience?: number;
}

export interface TrainMetrics {
  train_samples: number;
  validation_samples: number;
  train_accuracy: number;
  validation_accuracy: number;
  train_loss: number;
  validation_loss: number;
  epochs_run: number;
  best_epoch: number;
  /** Rows per class in the whole dataset, in class order. */
  class_counts: number[];
}

export interface TrainResult {
  model: SoftmaxModel;
  metrics: TrainMetrics;
  /** The held-out rows, so a caller can score other models on the same split. */
  validation: Dataset;
}

export const DEFAULT_TRAIN_OPTIONS = {
  epochs: 60,
  batchSize: 128,
  learningRate: 0.05,
  l2: 1e-4,
  validationSplit: 0.2,
  seed: 1,
  patience: 10,
} as const;

/** Small, fast, seedable PRNG (mulberry32); returns floats in [0, 1). */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(indices: Int32Array, rng: () => number): void {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = indices[i];
    indices[i] = indices[j];
    indices[j] = t;
  }
}

/** Rows `rows` of `data` as a new Dataset. */
export function subset(data: Dataset, rows: ArrayLike<number>): Dataset {
  const F = data.featureCount;
  const features = new Float32Array(rows.length * F);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    features.set(data.features.subarray(r * F, r * F + F), i * F);
    labels[i] = data.labels[r];
  }
  return { features, labels, count: rows.length, featureCount: F };
}

/** Splits deterministically: the first `split` share of a seeded shuffle is the validation set. */
export function splitDataset(data: Dataset, validationSplit: number, seed: number): { train: Dataset; validation: Dataset } {
  const order = new Int32Array(data.count);
  for (let i = 0; i < data.count; i++) order[i] = i;
  shuffle(order, createRng(seed));
  const nVal = data.count >= 5 ? Math.round(data.count * validationSplit) : 0;
  return { validation: subset(data, order.subarray(0, nVal)), train: subset(data, order.subarray(nVal)) };
}

export function trainSoftmaxRegression(data: Dataset, options: TrainOptions): TrainResult {
  const C = options.classCount;
  const F = data.featureCount;
  const epochs = options.epochs ?? DEFAULT_TRAIN_OPTIONS.epochs;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_TRAIN_OPTIONS.batchSize);
  const lr = options.learningRate ?? DEFAULT_TRAIN_OPTIONS.learningRate;
  const l2 = options.l2 ?? DEFAULT_TRAIN_OPTIONS.l2;
  const split = Math.min(0.9, Math.max(0, options.validationSplit ?? DEFAULT_TRAIN_OPTIONS.validationSplit));
  const seed = options.seed ?? DEFAULT_TRAIN_OPTIONS.seed;
  const patience = options.patience ?? DEFAULT_TRAIN_OPTIONS.patience;
  if (data.count === 0) throw new RangeError('Cannot train on an empty dataset');
  for (let i = 0; i < data.count; i++) {
    const y = data.labels[i];
    if (!(y >= 0 && y < C)) throw new RangeError(`Label ${y} of row ${i} is outside [0, ${C})`);
  }
  for (let i = 0; i < data.features.length; i++) {
    if (!Number.isFinite(data.features[i])) throw new RangeError(`Feature ${i % F} of row ${Math.floor(i / F)} is not finite`);
  }

  const { train, validation } = splitDataset(data, split, seed);
  const n = train.count;

  // Standardization on the training split (float64).
  const mean = new Float64Array(F);
  const sd = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) mean[f] += train.features[i * F + f];
  for (let f = 0; f < F; f++) mean[f] /= n;
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) {
      const d = train.features[i * F + f] - mean[f];
      sd[f] += d * d;
    }
  }
  for (let f = 0; f < F; f++) {
    const s = Math.sqrt(sd[f] / n);
    // A constant feature standardizes to 0 and keeps a zero weight; a tiny spread relative to
    // the mean would fold into huge weights that float32 cannot carry, so it is floored too.
    sd[f] = s < 1e-6 || s < 1e-4 * Math.abs(mean[f]) ? 1 : s;
  }
  const z = new Float64Array(n * F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) z[i * F + f] = (train.features[i * F + f] - mean[f]) / sd[f];
  const zVal = new Float64Array(validation.count * F);
  for (let i = 0; i < validation.count; i++) {
    for (let f = 0; f < F; f++) zVal[i * F + f] = (validation.features[i * F + f] - mean[f]) / sd[f];
  }

  const W = new Float64Array(F * C);
  const b = new Float64Array(C);
  // Adam state.
  const mW = new Float64Array(F * C);
  const vW = new Float64Array(F * C);
  const mb = new Float64Array(C);
  const vb = new Float64Array(C);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  let step = 0;

  const gW = new Float64Array(F * C);
  const gb = new Float64Array(C);
  const p = new Float64Array(C);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = createRng(seed ^ 0x9e3779b9);

  let bestW = W.slice();
  let bestB = b.slice();
  let bestLoss = Infinity;
  let bestEpoch = 0;
  let epochsRun = 0;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    epochsRun = epoch;
    shuffle(order, rng);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const m = end - start;
      gW.fill(0);
      gb.fill(0);
      for (let k = start; k < end; k++) {
        const row = order[k];
        const off = row * F;
        trainProbs(z, off, F, C, W, b, p);
        p[train.labels[row]] -= 1;
        for (let c = 0; c < C; c++) gb[c] += p[c];
        for (let f = 0; f < F; f++) {
          const x = z[off + f];
          if (x === 0) continue;
          const wo = f * C;
          for (let c = 0; c < C; c++) gW[wo + c] += x * p[c];
        }
      }
      step += 1;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let j = 0; j < F * C; j++) {
        const g = gW[j] / m + l2 * W[j];
        mW[j] = beta1 * mW[j] + (1 - beta1) * g;
        vW[j] = beta2 * vW[j] + (1 - beta2) * g * g;
        W[j] -= (lr * (mW[j] / c1)) / (Math.sqrt(vW[j] / c2) + eps);
      }
      for (let c = 0; c < C; c++) {
        const g = gb[c] / m;
        mb[c] = beta1 * mb[c] + (1 - beta1) * g;
        vb[c] = beta2 * vb[c] + (1 - beta2) * g * g;
        b[c] -= (lr * (mb[c] / c1)) / (Math.sqrt(vb[c] / c2) + eps);
      }
    }
    // Early stopping on the validation loss (the training loss when nothing is held out).
    const monitor = validation.count > 0 ? meanLoss(zVal, validation.labels, validation.count, F, C, W, b) : meanLoss(z, train.labels, n, F, C, W, b);
    if (monitor < bestLoss - 1e-9) {
      bestLoss = monitor;
      bestEpoch = epoch;
      bestW = W.slice();
      bestB = b.slice();
    } else if (epoch - bestEpoch >= patience) {
      break;
    }
  }

  // Fold the standardization into the parameters: x·(W/sd) + (b − Σ mean·W/sd).
  const weights = new Float32Array(F * C);
  const bias = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let shift = bestB[c];
    for (let f = 0; f < F; f++) {
      const w = bestW[f * C + c] / sd[f];
      weights[f * C + c] = w;
      shift -= mean[f] * w;
    }
    bias[c] = shift;
  }
  const model: SoftmaxModel = { featureCount: F, classCount: C, weights, bias };

  const classCounts = new Array<number>(C).fill(0);
  for (let i = 0; i < data.count; i++) classCounts[data.labels[i]] += 1;
  const trainEval = evaluate(model, train);
  const valEval = validation.count > 0 ? evaluate(model, validation) : trainEval;
  return {
    model,
    metrics: {
      train_samples: train.count,
      validation_samples: validation.count,
      train_accuracy: trainEval.accuracy,
      validation_accuracy: valEval.accuracy,
      train_loss: trainEval.loss,
      validation_loss: valEval.loss,
      epochs_run: epochsRun,
      best_epoch: bestEpoch,
      class_counts: classCounts,
    },
    validation,
  };
}

/** Numerically stable softmax of the first `C` logits in `out`, in place. */
function softmaxInPlace(out: Float64Array, C: number): void {
  let max = -Infinity;
  for (let c = 0; c < C; c++) if (out[c] > max) max = out[c];
  let sum = 0;
  for (let c = 0; c < C; c++) {
    const e = Math.exp(out[c] - max);
    out[c] = e;
    sum += e;
  }
  for (let c = 0; c < C; c++) out[c] /= sum;
}

/** softmax(row · W + b) into `out` (float64). */
function probs(x: ArrayLike<number>, off: number, F: number, C: number, W: ArrayLike<number>, b: ArrayLike<number>, out: Float64Array): void {
  for (let c = 0; c < C; c++) out[c] = b[c];
  for (let f = 0; f < F; f++) {
    const v = x[off + f];
    const wo = f * C;
    for (let c = 0; c < C; c++) out[c] += v * W[wo + c];
  }
  softmaxInPlace(out, C);
}

/** `probs` specialised to float64 rows (the training loop; keeps its call sites monomorphic). */
function trainProbs(x: Float64Array, off: number, F: number, C: number, W: Float64Array, b: Float64Array, out: Float64Array): void {
  for (let c = 0; c < C; c++) out[c] = b[c];
  for (let f = 0; f < F; f++) {
    const v = x[off + f];
    if (v === 0) continue;
    const wo = f * C;
    for (let c = 0; c < C; c++) out[c] += v * W[wo + c];
  }
  softmaxInPlace(out, C);
}

function meanLoss(x: Float64Array, labels: Int32Array, count: number, F: number, C: number, W: Float64Array, b: Float64Array): number {
  const p = new Float64Array(C);
  let loss = 0;
  for (let i = 0; i < count; i++) {
    trainProbs(x, i * F, F, C, W, b, p);
    loss -= Math.log(Math.max(p[labels[i]], 1e-12));
  }
  return count ? loss / count : 0;
}

/** Probabilities of every row, row-major [count, classCount]. */
export function predictProbaBatch(model: SoftmaxModel, data: Dataset): Float64Array {
  const C = model.classCount;
  const out = new Float64Array(data.count * C);
  const p = new Float64Array(C);
  for (let i = 0; i < data.count; i++) {
    probs(data.features, i * data.featureCount, data.featureCount, C, model.weights, model.bias, p);
    out.set(p, i * C);
  }
  return out;
}

export function argmax(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

/** Accuracy and mean cross-entropy of `model` on `data`. */
export function evaluate(model: SoftmaxModel, data: Dataset): { accuracy: number; loss: number } {
  if (data.count === 0) return { accuracy: 0, loss: 0 };
  const p = new Float64Array(model.classCount);
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < data.count; i++) {
    probs(data.features, i * data.featureCount, data.featureCount, model.classCount, model.weights, model.bias, p);
    const y = data.labels[i];
    if (argmax(p) === y) correct += 1;
    loss -= Math.log(Math.max(p[y], 1e-12));
  }
  return { accuracy: correct / data.count, loss: loss / data.count };
}

/** Accuracy of class-probability rows [count, classCount] (from any model) against labels. */
export function accuracyOf(probabilities: ArrayLike<number>, labels: Int32Array, classCount: number): number {
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (argmax(probabilities, i * classCount, classCount) === labels[i]) correct += 1;
  return correct / labels.length;
}
