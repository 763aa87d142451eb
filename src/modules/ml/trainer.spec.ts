import * as fs from 'node:fs';
import * as path from 'node:path';
import { actionIndex, CLASS_COUNT, DEFAULT_MODEL_FILE, FEATURE_COUNT } from './ml.constants';
import { exportSoftmaxRegressionOnnx } from './onnx-export';
import { sha256 } from './onnx-model';
import { ort, toOrtBytes, toOrtFloat32 } from './ort-runtime';
import { createRng, type Dataset, evaluate, predictProbaBatch, splitDataset, trainSoftmaxRegression } from './softmax-regression';
import { buildDefaultModel, defaultPolicy, syntheticDataset, syntheticState } from './synthetic-data';

/**
 * Known rule: 4 classes decided by a fixed linear score over 28 features of very different
 * scales (ratios, counts, levels) — linearly separable, so a softmax regression must learn it.
 */
function knownRuleDataset(size: number, seed: number): { data: Dataset; rule: (x: Float32Array) => number } {
  const rng = createRng(seed);
  const scales = Array.from({ length: FEATURE_COUNT }, (_, f) => [1, 10, 100, 0.5][f % 4]);
  const W = Array.from({ length: FEATURE_COUNT * 4 }, () => rng() * 2 - 1);
  const rule = (x: Float32Array) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < 4; c++) {
      let s = [0.3, -0.2, 0.1, 0][c];
      for (let f = 0; f < FEATURE_COUNT; f++) s += (x[f] / scales[f]) * W[f * 4 + c];
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    // Classes spread over the 15 outputs, so most outputs never occur.
    return [0, 2, 4, 10][best];
  };
  const features = new Float32Array(size * FEATURE_COUNT);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const x = features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT);
    for (let f = 0; f < FEATURE_COUNT; f++) x[f] = rng() * scales[f];
    labels[i] = rule(x);
  }
  return { data: { features, labels, count: size, featureCount: FEATURE_COUNT }, rule };
}

async function onnxProbabilities(bytes: Uint8Array, data: Dataset): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(toOrtBytes(bytes));
  try {
    const out = await session.run({ input: new ort.Tensor('float32', toOrtFloat32(data.features), [data.count, FEATURE_COUNT]) });
    expect(out.probabilities.dims).toEqual([data.count, CLASS_COUNT]);
    return out.probabilities.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('softmax-regression trainer', () => {
  const { data, rule } = knownRuleDataset(3000, 42);
  const result = trainSoftmaxRegression(data, { classCount: CLASS_COUNT, epochs: 40, learningRate: 0.05, seed: 3 });

  it('learns a known linear rule to high accuracy on held-out and fresh data', () => {
    expect(result.metrics.validation_samples).toBe(600);
    expect(result.metrics.validation_accuracy).toBeGreaterThanOrEqual(0.95);
    const fresh = knownRuleDataset(1000, 4242).data;
    // Same rule, new points: accuracy of the exported parameters against the rule itself.
    const probs = predictProbaBatch(result.model, fresh);
    let correct = 0;
    for (let i = 0; i < fresh.count; i++) {
      let best = 0;
      for (let c = 1; c < CLASS_COUNT; c++) if (probs[i * CLASS_COUNT + c] > probs[i * CLASS_COUNT + best]) best = c;
      if (best === rule(fresh.features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT))) correct += 1;
    }
    expect(correct / fresh.count).toBeGreaterThanOrEqual(0.95);
  });

  it('exports an ONNX model (Gemm + Softmax) that reproduces its probabilities within 1e-5', async () => {
    const bytes = exportSoftmaxRegressionOnnx(result.model);
    const ts = predictProbaBatch(result.model, result.validation);
    const ort = await onnxProbabilities(bytes, result.validation);
    let maxDiff = 0;
    for (let i = 0; i < ts.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ts[i] - ort[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    // …and therefore the same accuracy as the TypeScript model on the validation split.
    let agree = 0;
    for (let i = 0; i < result.validation.count; i++) {
      const argmax = (p: ArrayLike<number>) => {
        let b = 0;
        for (let c = 1; c < CLASS_COUNT; c++) if (p[i * CLASS_COUNT + c] > p[i * CLASS_COUNT + b]) b = c;
        return b;
      };
      if (argmax(ts) === argmax(ort)) agree += 1;
    }
    expect(agree).toBe(result.validation.count);
  });

  it('is deterministic: same data and seed, same model bytes', () => {
    const again = trainSoftmaxRegression(data, { classCount: CLASS_COUNT, epochs: 40, learningRate: 0.05, seed: 3 });
    expect(sha256(exportSoftmaxRegressionOnnx(again.model))).toBe(sha256(exportSoftmaxRegressionOnnx(result.model)));
  });

  it('keeps constant and near-constant features harmless', () => {
    const d = knownRuleDataset(500, 7).data;
    for (let i = 0; i < d.count; i++) {
      d.features[i * FEATURE_COUNT + 5] = 3; // constant
      d.features[i * FEATURE_COUNT + 6] = 1e6 + (i % 2) * 1e-3; // tiny spread, huge mean
    }
    const r = trainSoftmaxRegression(d, { classCount: CLASS_COUNT, epochs: 10, seed: 1 });
    for (const w of r.model.weights) expect(Number.isFinite(w)).toBe(true);
    for (let c = 0; c < CLASS_COUNT; c++) expect(r.model.weights[5 * CLASS_COUNT + c]).toBe(0);
    expect(r.metrics.validation_accuracy).toBeGreaterThan(0.8);
  });

  it('refuses bad input', () => {
    expect(() => trainSoftmaxRegression({ ...data, count: 0, features: new Float32Array(0), labels: new Int32Array(0) }, { classCount: 15 })).toThrow(RangeError);
    const bad = { ...data, labels: data.labels.slice() };
    bad.labels[3] = 15;
    expect(() => trainSoftmaxRegression(bad, { classCount: 15 })).toThrow(/outside/);
    const nan = { ...data, features: data.features.slice() };
    nan.features[10] = Number.NaN;
    expect(() => trainSoftmaxRegression(nan, { classCount: 15 })).toThrow(/not finite/);
  });

  it('splits deterministically and disjointly', () => {
    const a = splitDataset(data, 0.25, 9);
    const b = splitDataset(data, 0.25, 9);
    expect(a.validation.count).toBe(750);
    expect(a.train.count).toBe(2250);
    expect(Array.from(a.validation.labels)).toEqual(Array.from(b.validation.labels));
  });
});

describe('default model', () => {
  it('labels the documented synthetic states by the documented policy', () => {
    const rng = createRng(1);
    const s = syntheticState(rng, Date.UTC(2024, 5, 1));
    expect(actionIndex(defaultPolicy(s))).toBeDefined();
    expect(defaultPolicy({ character: { hp: 10, max_hp: 100, sp: 0, max_sp: 10, level: 1 }, monsters: [{ is_attacking_me: true }, { is_attacking_me: true }] })).toBe(
      'TELEPORT',
    );
    expect(defaultPolicy({ character: { hp: 100, max_hp: 100, sp: 10, max_sp: 10, level: 1 } })).toBe('NO_ACTION');
    const d = syntheticDataset(50, 5);
    expect(d.count).toBe(50);
    expect(Array.from(d.labels).every((y) => y >= 0 && y < CLASS_COUNT)).toBe(true);
  });

  it('is what the generator produces (models/default.onnx is reproducible) and imitates the policy', () => {
    const { bytes, metrics } = buildDefaultModel();
    expect(metrics.validation_accuracy).toBeGreaterThanOrEqual(0.85);
    const committed = path.resolve(__dirname, '..', '..', '..', 'models', DEFAULT_MODEL_FILE);
    expect(fs.existsSync(committed)).toBe(true);
    expect(sha256(fs.readFileSync(committed))).toBe(sha256(bytes));
  });

  it('scores the same through the trainer API as reported', () => {
    const d = syntheticDataset(400, 11);
    const r = trainSoftmaxRegression(d, { classCount: CLASS_COUNT, epochs: 5, seed: 2 });
    expect(evaluate(r.model, r.validation).accuracy).toBeCloseTo(r.metrics.validation_accuracy, 10);
  });
});
