import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACTION_TYPES, CLASS_COUNT, DEFAULT_MODEL_FILE, FEATURE_COUNT, MlService, type Prediction } from '../../src/modules/ml';
import { randomSoftmaxModel, writeTestModel } from '../../src/modules/ml/ml.test-kit';
import { request, ROOT, startEngine, tempDir, type RunningEngine } from '../support/engine';
import { report, turn, Violations, within } from './support';

const CANDIDATES = 6;
const PROMOTIONS = 24;
const INFERENCE_FLOWS = 8;
const FEATURES = Array.from({ length: FEATURE_COUNT }, (_, i) => ((i * 5) % 11) / 11);
/** float32 model vs float64 reference. */
const TOLERANCE = 1e-4;

const seedOf = (i: number) => 700 + i;

/** What candidate i answers for FEATURES, computed here (softmax of features · W + b), not by the engine. */
function expectedFor(i: number): number[] {
  const { weights, bias } = randomSoftmaxModel(seedOf(i));
  const x = Float32Array.from(FEATURES);
  const logits = Array.from({ length: CLASS_COUNT }, (_, c) => {
    let z = bias[c];
    for (let f = 0; f < FEATURE_COUNT; f++) z += x[f] * weights[f * CLASS_COUNT + c];
    return z;
  });
  const max = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - max));
  const sum = exps.reduce((s, v) => s + v, 0);
  return exps.map((v) => v / sum);
}

const vectorOf = (p: Prediction) => ACTION_TYPES.map((a) => p.probabilities[a]);
const close = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= TOLERANCE);

/**
 * MODEL: 24 stage + promote cycles (six candidate models, each with different weights) while 8
 * flows run inferences through the ML service flat out. An inference holds the MODEL read lock
 * and reports the version bound to the model object it ran; a promotion swaps under the write
 * lock and releases the old model only after. So no inference fails, and each answer is exactly
 * the answer of the model its version names — one whole model, never a released or mixed one.
 */
describe('stress: model promotions during inferences', () => {
  let e: RunningEngine;
  let modelDir: string;

  beforeAll(async () => {
    modelDir = path.join(tempDir('okai-stress-ml-'), 'models');
    fs.mkdirSync(modelDir);
    fs.copyFileSync(path.join(ROOT, 'models', DEFAULT_MODEL_FILE), path.join(modelDir, DEFAULT_MODEL_FILE));
    for (let i = 0; i < CANDIDATES; i++) writeTestModel(modelDir, `candidates/c${i}.onnx`, 'valid', seedOf(i));
    e = await startEngine({ MODEL_DIR: modelDir, ML_FLUSH_INTERVAL_MS: '0' });
  });
  afterAll(() => e.stop());

  it('no inference fails, each answer is exactly its version’s model, versions only move forward per flow, one version per promotion', async () => {
    const ml = e.engine.app.get(MlService);
    const api = (p: string) => `${e.url}/api/v1/ml${p}`;
    const violations = new Violations('model');

    // version → its expected answer; the serving (default) model's is what it answers before any promotion.
    const before = await ml.predict(FEATURES);
    const expected = new Map<number, number[]>([[before.model_version, vectorOf(before)]]);
    const expectations = Array.from({ length: CANDIDATES }, (_, i) => expectedFor(i));
    for (let i = 0; i < CANDIDATES; i++) for (let j = 0; j < i; j++) expect(close(expectations[i], expectations[j])).toBe(false);

    let promoting = true;
    const answers: Array<{ flow: number; version: number; probs: number[] }> = [];
    const failures: string[] = [];
    const flow = async (f: number) => {
      let last = 0;
      while (promoting) {
        try {
          const p = await ml.predict(FEATURES);
          violations.check(p.model_version >= last, () => `flow ${f}: version ${p.model_version} after ${last}`);
          last = p.model_version;
          answers.push({ flow: f, version: p.model_version, probs: vectorOf(p) });
        } catch (err) {
          failures.push(`${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`);
        }
        // A turn now and then lets the promotions' requests in; inferences are otherwise back to back.
        if (answers.length % 16 === f) await turn();
      }
    };

    const promotions: Array<{ version: number; previous: number | null; candidate: number }> = [];
    const promoter = async () => {
      try {
        for (let k = 0; k < PROMOTIONS; k++) {
          const candidate = k % CANDIDATES;
          const staged = await request(api('/model/stage'), { body: { model_path: `candidates/c${candidate}.onnx` } });
          if (staged.status !== 200) throw new Error(`stage ${k}: ${staged.status} ${JSON.stringify(staged.body)}`);
          const promoted = await request(api('/model/promote'), { body: { staging_id: staged.body.data.staging_id } });
          if (promoted.status !== 200) throw new Error(`promote ${k}: ${promoted.status} ${JSON.stringify(promoted.body)}`);
          expected.set(promoted.body.data.version, expectations[candidate]);
          promotions.push({ version: promoted.body.data.version, previous: promoted.body.data.previous_version, candidate });
        }
      } finally {
        promoting = false;
      }
    };

    await within(120_000, 'promotions during inferences', Promise.all([promoter(), ...Array.from({ length: INFERENCE_FLOWS }, (_, f) => flow(f))]));

    const perVersion = new Map<number, number>();
    for (const a of answers) {
      perVersion.set(a.version, (perVersion.get(a.version) ?? 0) + 1);
      const want = expected.get(a.version);
      violations.check(want !== undefined && close(a.probs, want), () => `flow ${a.flow}: version ${a.version} answered ${a.probs.slice(0, 3).map((x) => x.toFixed(5))}…, its model answers ${want?.slice(0, 3).map((x) => x.toFixed(5))}…`);
    }
    const status = (await request(api('/model'))).body.data;
    report('model', {
      promotions: promotions.length,
      versions: `${before.model_version} → ${status.version}`,
      inferences: answers.length,
      failed_inferences: failures.length,
      first_failures: failures.slice(0, 3),
      versions_answered: perVersion.size,
      answers_per_version: Object.fromEntries(perVersion),
      wrong_answers: violations.count,
      engine_total_inferences: status.total_inferences,
    });
    expect(failures).toEqual([]);
    violations.assertNone();
    expect(promotions.map((p) => p.version)).toEqual(Array.from({ length: PROMOTIONS }, (_, k) => before.model_version + k + 1));
    expect(promotions.every((p, k) => p.previous === (k === 0 ? before.model_version : promotions[k - 1].version))).toBe(true);
    expect(status.version).toBe(before.model_version + PROMOTIONS);
    // Inferences really ran across the promotions, not before or after them.
    expect(perVersion.size).toBeGreaterThan(PROMOTIONS / 2);
  });
});
