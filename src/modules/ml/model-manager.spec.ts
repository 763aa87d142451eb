import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLockManager, LockName, LockTimeoutError, type OrderedLock, withLock } from '../../common/concurrency';
import type { AppConfig } from '../../config/app-config';
import { CLASS_COUNT, DEFAULT_MODEL_FILE, FEATURE_COUNT } from './ml.constants';
import { ModelPathError, ModelUnavailableError, ModelValidationError, NoStagedModelError, PromotionInProgressError, StagingConflictError } from './ml.errors';
import { testModelBytes, type TestModelKind, writeTestModel } from './ml.test-kit';
import { ModelManager } from './model-manager.service';
import { MemoryModelRegistry } from './model-registry';
import { sha256 } from './onnx-model';

const row = () => Float32Array.from({ length: FEATURE_COUNT }, (_, i) => (i % 5) / 5);

function setup(options: { defaultModel?: boolean } = {}) {
  const modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-mm-'));
  if (options.defaultModel !== false) writeTestModel(modelDir, DEFAULT_MODEL_FILE, 'valid', 100);
  const config = { modelDir, mlPromoteTimeoutMs: 30_000 } as AppConfig;
  const locks = createLockManager();
  const registry = new MemoryModelRegistry();
  const manager = new ModelManager(config, locks.resolve(LockName.MODEL), registry);
  return { modelDir, config, locks, registry, manager, lock: locks.resolve(LockName.MODEL) as OrderedLock };
}

type Setup = ReturnType<typeof setup>;
const opened: Setup[] = [];
function open(options?: { defaultModel?: boolean }): Setup {
  const s = setup(options);
  opened.push(s);
  return s;
}

beforeAll(() => Logger.overrideLogger(false));

afterEach(async () => {
  for (const s of opened.splice(0)) {
    await s.manager.onApplicationShutdown();
    fs.rmSync(s.modelDir, { recursive: true, force: true });
  }
});

describe('ModelManager', () => {
  it('boots with an empty registry by promoting the default model as version 1', async () => {
    const { manager, registry } = open();
    await manager.init();
    expect(manager.available).toBe(true);
    expect(manager.version).toBe(1);
    expect(await registry.lastPromoted()).toMatchObject({ version: 1, path: DEFAULT_MODEL_FILE, origin: 'default', status: 'promoted' });
    const out = await manager.infer(row());
    expect(out.version).toBe(1);
    expect(out.probabilities).toHaveLength(CLASS_COUNT);
    expect(manager.health().status).toBe('healthy');
  });

  it('generates the default model when MODEL_DIR has none', async () => {
    const { manager, modelDir } = open({ defaultModel: false });
    await manager.init();
    expect(fs.existsSync(path.join(modelDir, DEFAULT_MODEL_FILE))).toBe(true);
    expect(manager.version).toBe(1);
    expect(manager.view().active?.metadata.dataset).toMatch(/synthetic-default/);
  });

  it('stages outside the lock, promotes with version + 1, serves the new model and releases the old one', async () => {
    const { manager, modelDir, registry } = open();
    await manager.init();
    const before = await manager.infer(row());
    const oldModel = (manager as unknown as { active: { model: { isReleased: boolean } } }).active.model;
    writeTestModel(modelDir, 'trained/next.onnx', 'valid', 7);
    const staged = await manager.stage('trained/next.onnx');
    expect(staged).toMatchObject({ path: 'trained/next.onnx', sha256: sha256(testModelBytes('valid', 7)), origin: 'stage' });
    expect(manager.version).toBe(1); // staging changes nothing that serves
    const promoted = await manager.promote({ stagingId: staged.staging_id });
    expect(promoted).toMatchObject({ version: 2, previous_version: 1, path: 'trained/next.onnx' });
    expect(oldModel.isReleased).toBe(true);
    const after = await manager.infer(row());
    expect(after.version).toBe(2);
    expect(Array.from(after.probabilities)).not.toEqual(Array.from(before.probabilities));
    expect(manager.view()).toMatchObject({ staging: null, promotions: 2, active: { version: 2, inference_count: 1, active_inferences: 0 } });
    expect((await registry.list(10)).map((r) => [r.version, r.status])).toEqual([
      [2, 'promoted'],
      [1, 'promoted'],
    ]);
  });

  it.each<[TestModelKind, RegExp]>([
    ['wrong-input', /input "input" must be float32 \[N, 28\]/i],
    ['wrong-output', /\[N, 15\] probability output/],
    ['wrong-name', /exactly one input named "input"/],
    ['logits', /(not a probability|do not sum to 1)/],
    ['nan', /non-finite/],
    ['garbage', /Not a loadable ONNX model/],
  ])('refuses a %s model with 422 and changes nothing', async (kind, message) => {
    const { manager, modelDir } = open();
    await manager.init();
    writeTestModel(modelDir, 'good.onnx', 'valid', 3);
    const good = await manager.stage('good.onnx');
    writeTestModel(modelDir, 'bad.onnx', kind);
    const err = await manager.stage('bad.onnx').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelValidationError);
    expect((err as ModelValidationError).status).toBe(422);
    expect((err as Error).message).toMatch(message);
    expect(manager.version).toBe(1);
    expect(manager.view().staging?.staging_id).toBe(good.staging_id);
    expect((await manager.infer(row())).version).toBe(1);
  });

  it('refuses paths outside MODEL_DIR with 400', async () => {
    const { manager } = open();
    await manager.init();
    await expect(manager.stage('../escape.onnx')).rejects.toBeInstanceOf(ModelPathError);
    await expect(manager.stage('/etc/passwd.onnx')).rejects.toBeInstanceOf(ModelPathError);
    expect(manager.version).toBe(1);
  });

  it('guards promotion: nothing staged, a stale staging id, two at once', async () => {
    const { manager, modelDir } = open();
    await manager.init();
    await expect(manager.promote()).rejects.toBeInstanceOf(NoStagedModelError);
    writeTestModel(modelDir, 'a.onnx', 'valid', 1);
    writeTestModel(modelDir, 'b.onnx', 'valid', 2);
    const a = await manager.stage('a.onnx');
    const b = await manager.stage('b.onnx'); // replaces a
    await expect(manager.promote({ stagingId: a.staging_id })).rejects.toBeInstanceOf(StagingConflictError);
    const first = manager.promote({ stagingId: b.staging_id });
    await expect(manager.promote()).rejects.toBeInstanceOf(PromotionInProgressError);
    await expect(first).resolves.toMatchObject({ version: 2 });
  });

  it('a promotion that cannot get the write lock in time changes nothing and keeps the staged model', async () => {
    const { manager, modelDir, registry, lock } = open();
    await manager.init();
    writeTestModel(modelDir, 'next.onnx', 'valid', 9);
    const staged = await manager.stage('next.onnx');
    // An "inference" that does not finish: a reader holding the MODEL lock.
    let releaseReader!: () => void;
    const readerHolds = new Promise<void>((r) => (releaseReader = r));
    const reader = withLock(lock, () => readerHolds, { mode: 'read' });
    const promotion = manager.promote({ timeoutMs: 50 });
    // A prediction arriving now queues behind the waiting writer (fair lock), and is served
    // by the old model once the writer gives up.
    await waitFor(() => lock.waiters.size === 1);
    const queued = manager.infer(row());
    await expect(promotion).rejects.toBeInstanceOf(LockTimeoutError);
    await expect(queued).resolves.toMatchObject({ version: 1 });
    releaseReader();
    await reader;
    expect(manager.version).toBe(1);
    expect(manager.view().staging?.staging_id).toBe(staged.staging_id);
    expect((await registry.list(1))[0]).toMatchObject({ version: 2, status: 'failed' });
    // The same staged model promotes fine once nothing blocks; the failed version stays burnt.
    await expect(manager.promote()).resolves.toMatchObject({ version: 3, previous_version: 1 });
  });

  it('10 promotions while inferences run flat out: none fails, each reports the version that served it', async () => {
    const { manager, modelDir } = open();
    await manager.init();
    for (let i = 0; i < 10; i++) writeTestModel(modelDir, `m${i}.onnx`, 'valid', 1000 + i);
    let stop = false;
    const observed: number[][] = [];
    const client = async () => {
      const seen: number[] = [];
      while (!stop) seen.push((await manager.infer(row())).version);
      observed.push(seen);
    };
    const clients = Array.from({ length: 4 }, client);
    const versions: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await manager.stage(`m${i}.onnx`);
      versions.push((await manager.promote({ stagingId: s.staging_id })).version);
    }
    stop = true;
    await Promise.all(clients);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const seen of observed) {
      expect(seen.length).toBeGreaterThan(0);
      // One client's consecutive requests never go back to an older model.
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
      expect(seen.every((v) => v >= 1 && v <= 11)).toBe(true);
    }
    expect(manager.view().active?.active_inferences).toBe(0);
  });
});

describe('ModelManager at boot', () => {
  it('loads the last promoted version from the registry', async () => {
    const { manager, modelDir, registry } = open();
    writeTestModel(modelDir, 'v7.onnx', 'valid', 77);
    const bytes = testModelBytes('valid', 77);
    for (const v of [5, 6, 7]) {
      registry.rows.set(v, {
        version: v,
        path: v === 7 ? 'v7.onnx' : 'missing.onnx',
        sha256: v === 7 ? sha256(bytes) : 'x',
        size_bytes: bytes.length,
        origin: 'stage',
        status: v === 6 ? 'failed' : 'promoted',
        metrics: null,
        previous_version: null,
        created_at: 0,
        promoted_at: 1,
      });
    }
    await manager.init();
    expect(manager.version).toBe(7);
    expect(manager.view().active?.path).toBe('v7.onnx');
  });

  it.each([
    // Registered with the sha256 of the bytes now on disk: the file itself is broken.
    ['corrupt', sha256(Buffer.from('garbage')), (dir: string) => fs.writeFileSync(path.join(dir, 'v1.onnx'), 'garbage'), /Not a loadable ONNX model/],
    ['changed on disk', sha256(testModelBytes('valid', 1)), (dir: string) => writeTestModel(dir, 'v1.onnx', 'valid', 2), /changed on disk/],
    ['missing', sha256(testModelBytes('valid', 1)), () => undefined, /No model file/],
  ])('stays up, degraded, when the registered model is %s; a promotion recovers', async (_name, registeredSha, prepare, detail) => {
    const { manager, modelDir, registry } = open();
    registry.rows.set(1, {
      version: 1,
      path: 'v1.onnx',
      sha256: registeredSha,
      size_bytes: 1,
      origin: 'stage',
      status: 'promoted',
      metrics: null,
      previous_version: null,
      created_at: 0,
      promoted_at: 1,
    });
    prepare(modelDir);
    await manager.init();
    expect(manager.available).toBe(false);
    expect(manager.health()).toMatchObject({ status: 'degraded' });
    expect(manager.health().detail).toMatch(detail);
    expect(manager.view().status).toBe('degraded');
    await expect(manager.infer(row())).rejects.toBeInstanceOf(ModelUnavailableError);

    writeTestModel(modelDir, 'fixed.onnx', 'valid', 5);
    await manager.stage('fixed.onnx');
    await expect(manager.promote()).resolves.toMatchObject({ version: 2, previous_version: null });
    expect(manager.health().status).toBe('healthy');
    expect((await manager.infer(row())).version).toBe(2);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}
