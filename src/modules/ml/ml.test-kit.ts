/**
 * Model files for tests and benchmarks: valid ones (random softmax regressions) and the kinds
 * of broken ones the model manager must refuse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLASS_COUNT, FEATURE_COUNT } from './ml.constants';
import { exportSoftmaxRegressionOnnx } from './onnx-export';
import { createRng, type SoftmaxModel } from './softmax-regression';

export type TestModelKind =
  /** A valid model: random weights. */
  | 'valid'
  /** Input [N, 10] instead of [N, 28]. */
  | 'wrong-input'
  /** Output [N, 5] instead of [N, 15]. */
  | 'wrong-output'
  /** Input named "x" instead of "input". */
  | 'wrong-name'
  /** Gemm without Softmax: outputs that are not probabilities. */
  | 'logits'
  /** NaN weights: non-finite probabilities. */
  | 'nan'
  /** Not ONNX at all. */
  | 'garbage';

export function randomSoftmaxModel(seed: number, featureCount: number = FEATURE_COUNT, classCount: number = CLASS_COUNT): SoftmaxModel {
  const rng = createRng(seed);
  return {
    featureCount,
    classCount,
    weights: Float32Array.from({ length: featureCount * classCount }, () => rng() * 2 - 1),
    bias: Float32Array.from({ length: classCount }, () => rng() - 0.5),
  };
}

export function testModelBytes(kind: TestModelKind, seed = 1): Uint8Array {
  switch (kind) {
    case 'valid':
      return exportSoftmaxRegressionOnnx(randomSoftmaxModel(seed), { metadata: { test_seed: String(seed) } });
    case 'wrong-input':
      return exportSoftmaxRegressionOnnx(randomSoftmaxModel(seed, 10));
    case 'wrong-output':
      return exportSoftmaxRegressionOnnx(randomSoftmaxModel(seed, FEATURE_COUNT, 5));
    case 'wrong-name':
      return exportSoftmaxRegressionOnnx(randomSoftmaxModel(seed), { inputName: 'x' });
    case 'logits':
      return exportSoftmaxRegressionOnnx(randomSoftmaxModel(seed), { softmax: false });
    case 'nan': {
      const m = randomSoftmaxModel(seed);
      m.weights[0] = Number.NaN;
      return exportSoftmaxRegressionOnnx(m);
    }
    case 'garbage':
      return new TextEncoder().encode('this is not an onnx model');
  }
}

/** Writes a test model to `dir/relative` and returns `relative`. */
export function writeTestModel(dir: string, relative: string, kind: TestModelKind = 'valid', seed = 1): string {
  const file = path.join(dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, testModelBytes(kind, seed));
  return relative;
}
