import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatabaseService } from '../src/common/database/database.service';
import { FlagService } from '../src/modules/flags';
import { ACTION_TYPES, DEFAULT_MODEL_FILE, FEATURE_COUNT, syntheticDataset } from '../src/modules/ml';
import { writeTestModel } from '../src/modules/ml/ml.test-kit';
import { ROOT, request, type RunningEngine, startEngine, tempDir } from './support/engine';

const FEATURES = Array.from({ length: FEATURE_COUNT }, (_, i) => (i % 7) / 7);

/** A MODEL_DIR with the shipped default model, candidates, broken models and an escaping symlink. */
function prepareModelDir(): { modelDir: string; outside: string } {
  const root = tempDir('okai-ml-');
  const modelDir = path.join(root, 'models');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(modelDir);
  fs.mkdirSync(outside);
  fs.copyFileSync(path.join(ROOT, 'models', DEFAULT_MODEL_FILE), path.join(modelDir, DEFAULT_MODEL_FILE));
  for (let i = 0; i < 10; i++) writeTestModel(modelDir, `candidates/c${i}.onnx`, 'valid', 500 + i);
  writeTestModel(modelDir, 'bad/wrong-input.onnx', 'wrong-input');
  writeTestModel(modelDir, 'bad/wrong-output.onnx', 'wrong-output');
  writeTestModel(outside, 'escape.onnx', 'valid', 1);
  fs.symlinkSync(path.join(outside, 'escape.onnx'), path.join(modelDir, 'escape-link.onnx'));
  return { modelDir, outside };
}

interface PredictionRecord {
  sentAt: number;
  receivedAt: number;
  status: number;
  version: number | undefined;
  code?: string;
}

describe('ML over HTTP', () => {
  let e: RunningEngine;
  let modelDir: string;
  let outside: string;
  const api = (p: string) => `${e.url}/api/v1/ml${p}`;

  beforeAll(async () => {
    ({ modelDir, outside } = prepareModelDir());
    e = await startEngine({ MODEL_DIR: modelDir, ML_FLUSH_INTERVAL_MS: '0', ML_TRAIN_MIN_SAMPLES: '100' });
  });
  afterAll(async () => {
    await e.stop();
  });

  it('serves the shipped default model as version 1 and says so in health', async () => {
    const model = await request(api('/model'));
    expect(model.status).toBe(200);
    expect(model.body.data).toMatchObject({
      status: 'ready',
      available: true,
      version: 1,
      active: { version: 1, path: DEFAULT_MODEL_FILE, origin: 'default', input: { name: 'input', shape: ['N', 28] }, output: { shape: ['N', 15] } },
      staging: null,
    });
    const pred = await request(api('/predict'), { body: { features: FEATURES } });
    expect(pred.status).toBe(200);
    expect(ACTION_TYPES).toContain(pred.body.data.action_type);
    expect(pred.body.data.model_version).toBe(1);
    const probs = Object.values(pred.body.data.probabilities as Record<string, number>);
    expect(probs).toHaveLength(15);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(pred.body.data.confidence).toBe(Math.max(...probs));
    const health = await request(`${e.url}/health`);
    expect(health.body.decision_engines.ml).toEqual({ status: 'healthy', detail: 'model version 1' });
  });

  it('10 stage+promote cycles while clients predict flat out: no failure, version +10, each answer names a version active during its request', async () => {
    const start = (await request(api('/model'))).body.data.version as number;
    let stop = false;
    const records: PredictionRecord[] = [];
    const client = async () => {
      while (!stop) {
        const sentAt = performance.now();
        const res = await request(api('/predict'), { body: { features: FEATURES } });
        records.push({ sentAt, receivedAt: performance.now(), status: res.status, version: res.body?.data?.model_version, code: res.body?.error?.code });
      }
    };
    const clients = Array.from({ length: 4 }, client);
    // Let the clients get going before the first swap.
    await waitFor(() => records.length >= 20);
    const promotions: Array<{ version: number; sentAt: number; receivedAt: number }> = [];
    for (let i = 0; i < 10; i++) {
      const staged = await request(api('/model/stage'), { body: { model_path: `candidates/c${i}.onnx` } });
      expect(staged.status).toBe(200);
      const sentAt = performance.now();
      const promoted = await request(api('/model/promote'), { body: { staging_id: staged.body.data.staging_id } });
      const receivedAt = performance.now();
      expect(promoted.status).toBe(200);
      promotions.push({ version: promoted.body.data.version, sentAt, receivedAt });
      // Some predictions on every version.
      const count = records.length;
      await waitFor(() => records.length >= count + 10);
    }
    stop = true;
    await Promise.all(clients);

    expect(promotions.map((p) => p.version)).toEqual(Array.from({ length: 10 }, (_, i) => start + i + 1));
    const failed = records.filter((r) => r.status !== 200);
    expect(failed).toEqual([]);
    const byVersion = new Map(promotions.map((p) => [p.version, p]));
    for (const r of records) {
      const v = r.version!;
      expect(v).toBeGreaterThanOrEqual(start);
      expect(v).toBeLessThanOrEqual(start + 10);
      // v became active before the answer came back…
      const became = byVersion.get(v);
      if (became) expect(became.sentAt).toBeLessThanOrEqual(r.receivedAt);
      // …and its successor had not certainly replaced it before the request was sent.
      const next = byVersion.get(v + 1);
      if (next) expect(r.sentAt).toBeLessThanOrEqual(next.receivedAt);
    }
    expect(new Set(records.map((r) => r.version)).size).toBe(11);
    const model = await request(api('/model'));
    expect(model.body.data).toMatchObject({ version: start + 10, active: { path: 'candidates/c9.onnx', active_inferences: 0 } });
  });

  it('refuses a wrong-shape model (422) and paths outside MODEL_DIR (400); the active model keeps serving', async () => {
    const version = (await request(api('/model'))).body.data.version as number;
    const cases: Array<[string, number, string]> = [
      ['bad/wrong-input.onnx', 422, 'UNPROCESSABLE'],
      ['bad/wrong-output.onnx', 422, 'UNPROCESSABLE'],
      ['../outside/escape.onnx', 400, 'INVALID_REQUEST'],
      [path.join(outside, 'escape.onnx'), 400, 'INVALID_REQUEST'],
      ['escape-link.onnx', 400, 'INVALID_REQUEST'],
      ['candidates/none.onnx', 404, 'NOT_FOUND'],
    ];
    for (const [modelPath, status, code] of cases) {
      const res = await request(api('/model/stage'), { body: { model_path: modelPath } });
      expect({ modelPath, status: res.status, code: res.body.error?.code }).toEqual({ modelPath, status, code });
      const pred = await request(api('/predict'), { body: { features: FEATURES } });
      expect(pred.status).toBe(200);
      expect(pred.body.data.model_version).toBe(version);
    }
    const model = await request(api('/model'));
    expect(model.body.data).toMatchObject({ version, staging: null });
    // Nothing staged: promote is a 404, and the version stays.
    const promote = await request(api('/model/promote'), { body: {} });
    expect(promote.status).toBe(404);
    expect((await request(api('/model'))).body.data.version).toBe(version);
  });

  it('validates prediction requests', async () => {
    const cases: Array<[unknown, number]> = [
      [{ features: FEATURES.slice(1) }, 400],
      [{ features: [...FEATURES.slice(1), 'x'] }, 400],
      [{ features: [...FEATURES.slice(1), 1e39] }, 400], // not a float32
      [{}, 400],
      [{ features: FEATURES, session_id: 'abc' }, 400],
      [{ features: FEATURES, extra: 1 }, 400],
      [{ session_id: 'no-such-session' }, 404],
    ];
    for (const [body, status] of cases) {
      const res = await request(api('/predict'), { body });
      expect({ body, status: res.status }).toEqual({ body, status });
    }
  });

  it('registry keeps every version with its sha256', async () => {
    const res = await request(api('/model/registry?limit=100'));
    expect(res.status).toBe(200);
    const rows = res.body.data as Array<{ version: number; status: string; sha256: string; path: string }>;
    expect(rows.length).toBeGreaterThanOrEqual(11);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.sha256) && r.status === 'promoted')).toBe(true);
    expect(rows.at(-1)).toMatchObject({ version: 1, path: DEFAULT_MODEL_FILE });
    // The spec's cross-process model_version counter moved with every promotion.
    expect(await e.engine.app.get(FlagService).getVersion('model_version')).toBe(rows[0].version);
  });

  it('buffers samples and writes them in one transaction per batch; training refuses without enough data', async () => {
    const db = e.engine.app.get(DatabaseService);
    const tooFew = await request(api('/train'), { body: {} });
    expect(tooFew.status).toBe(422);
    expect(tooFew.body.error.code).toBe('UNPROCESSABLE');

    const bad = await request(api('/samples'), { body: { samples: [{ features: FEATURES, action: 'DANCE', success: true }] } });
    expect(bad.status).toBe(400);
    const data = syntheticDataset(400, 99);
    const samples = Array.from({ length: data.count }, (_, i) => ({
      features: Array.from(data.features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT)),
      action: ACTION_TYPES[data.labels[i]],
      reward: 1,
      success: true,
    }));
    for (let i = 0; i < samples.length; i += 200) {
      const res = await request(api('/samples'), { body: { samples: samples.slice(i, i + 200) } });
      expect(res.status).toBe(202);
      expect(res.body.data).toMatchObject({ accepted: 200, dropped: 0, rejected: 0 });
    }
    const flushed = await request(api('/samples/flush'), { body: {} });
    expect(flushed.body.data).toMatchObject({ complete: true, size: 0 });
    expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM training_data'))!.n).toBe(400);
    const row = (await db.get<{ features: string; action: string; success: number; source: string }>('SELECT * FROM training_data ORDER BY id LIMIT 1'))!;
    expect(JSON.parse(row.features)).toHaveLength(FEATURE_COUNT);
    expect(row).toMatchObject({ action: samples[0].action, success: 1, source: 'api' });
  });

  it('trains in a worker thread, stages the model and promotes it; a second run while the flag is held is 409 BUSY', async () => {
    const before = (await request(api('/model'))).body.data.version as number;
    const flags = e.engine.app.get(FlagService);
    // Another process training: it holds the cross-process flag.
    const lease = await flags.tryAcquire('training_in_progress', 60_000);
    expect(lease).not.toBeNull();
    try {
      const busy = await request(api('/train'), { body: {} });
      expect(busy.status).toBe(409);
      expect(busy.body.error.code).toBe('BUSY');
    } finally {
      await flags.release(lease!);
    }
    const res = await request(api('/train'), { body: { epochs: 30, seed: 5, promote: 'always' } });
    expect(res.status).toBe(200);
    const report = res.body.data;
    expect(report).toMatchObject({ promoted: true, promote_policy: 'always', samples: { usable: 400 } });
    expect(report.model_path).toMatch(/^trained\/model-.*\.onnx$/);
    expect(fs.existsSync(path.join(modelDir, report.model_path))).toBe(true);
    // Fitted to the documented default policy: the held-out accuracy is high, measured by onnxruntime.
    expect(report.candidate_validation_accuracy).toBeGreaterThan(0.7);
    expect(Math.abs(report.candidate_validation_accuracy - report.metrics.validation_accuracy)).toBeLessThan(0.01);
    expect(report.promotion.version).toBe(before + 1);
    const model = await request(api('/model'));
    expect(model.body.data).toMatchObject({ version: before + 1, active: { path: report.model_path, origin: 'train' }, training: { in_progress: false } });
    expect((await flags.get('training_in_progress'))?.held).toBe(false);

    // Policy "better": the same data again is not better than what serves, so it stays staged.
    const again = await request(api('/train'), { body: { epochs: 30, seed: 5, promote: 'better' } });
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ promoted: false, active_version: before + 1 });
    expect(again.body.data.reason).toMatch(/not better/);
    const after = await request(api('/model'));
    expect(after.body.data).toMatchObject({ version: before + 1, staging: { path: again.body.data.model_path, origin: 'train' } });
  });
});

describe('ML across restarts', () => {
  it('generates the default model on first start, flushes samples at shutdown, reloads the last promoted model, and survives a corrupt one', async () => {
    const dataDir = tempDir();
    const modelDir = path.join(tempDir(), 'models'); // does not exist yet
    const env = { DATA_DIR: dataDir, MODEL_DIR: modelDir, ML_FLUSH_INTERVAL_MS: '0', ML_BUFFER_CAPACITY: '1000' };

    const first = await startEngine(env);
    try {
      expect(fs.existsSync(path.join(modelDir, DEFAULT_MODEL_FILE))).toBe(true);
      expect((await request(`${first.url}/api/v1/ml/model`)).body.data.version).toBe(1);
      const samples = Array.from({ length: 37 }, (_, i) => ({ features: FEATURES, action: 'ATTACK', success: i % 2 === 0, session_id: 's1' }));
      const posted = await request(`${first.url}/api/v1/ml/samples`, { body: { samples } });
      expect(posted.body.data).toMatchObject({ accepted: 37, buffer_size: 37 });
      writeTestModel(modelDir, 'mine.onnx', 'valid', 31);
      expect((await request(`${first.url}/api/v1/ml/model/stage`, { body: { model_path: 'mine.onnx' } })).status).toBe(200);
      expect((await request(`${first.url}/api/v1/ml/model/promote`, { body: {} })).body.data.version).toBe(2);
    } finally {
      await first.stop();
    }
    const Database = (await import('better-sqlite3')).default;
    const file = new Database(path.join(dataDir, 'openkore-ai.db'), { readonly: true });
    try {
      expect((file.prepare('SELECT COUNT(*) AS n FROM training_data').get() as { n: number }).n).toBe(37);
      expect(file.prepare('SELECT version, status FROM model_registry ORDER BY version').all()).toEqual([
        { version: 1, status: 'promoted' },
        { version: 2, status: 'promoted' },
      ]);
    } finally {
      file.close();
    }

    const second = await startEngine(env);
    try {
      const model = await request(`${second.url}/api/v1/ml/model`);
      expect(model.body.data).toMatchObject({ version: 2, active: { path: 'mine.onnx' } });
      expect((await request(`${second.url}/api/v1/ml/predict`, { body: { features: FEATURES } })).body.data.model_version).toBe(2);
    } finally {
      await second.stop();
    }

    fs.writeFileSync(path.join(modelDir, 'mine.onnx'), 'corrupted');
    const third = await startEngine(env);
    try {
      const health = await request(`${third.url}/health`);
      expect(health.status).toBe(200); // up, degraded — not down
      expect(health.body.status).toBe('degraded');
      expect(health.body.decision_engines.ml.status).toBe('degraded');
      expect(health.body.decision_engines.ml.detail).toMatch(/changed on disk/);
      const pred = await request(`${third.url}/api/v1/ml/predict`, { body: { features: FEATURES } });
      expect(pred.status).toBe(503);
      expect(pred.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect((await request(`${third.url}/api/v1/ml/model`)).body.data).toMatchObject({ status: 'degraded', available: false, version: null });
      // An operator recovers it without a restart.
      expect((await request(`${third.url}/api/v1/ml/model/stage`, { body: { model_path: DEFAULT_MODEL_FILE } })).status).toBe(200);
      expect((await request(`${third.url}/api/v1/ml/model/promote`, { body: {} })).body.data.version).toBe(3);
      expect((await request(`${third.url}/health`)).body.decision_engines.ml.status).toBe('healthy');
    } finally {
      await third.stop();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}
