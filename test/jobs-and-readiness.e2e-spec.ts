import { SchedulerRegistry } from '@nestjs/schedule';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockManager, LockName, withLock } from '../src/common/concurrency';
import { DEFAULT_MODEL_FILE } from '../src/modules/ml';
import { until } from '../src/common/testing/wait.test-kit';
import { ROOT, request, type RunningEngine, startEngine, tempDir } from './support/engine';

const TOKEN = 'jobs-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

/** Every periodic job the engine runs from boot (flag heartbeats and the PDCA stop poll come and go with their lease or cycle). */
const ALWAYS_REGISTERED = [
  'console.stream',
  'database.wal-checkpoint',
  'decision-log.flush',
  'locks.long-hold-scan',
  'macro.rescan',
  'memory.access-flush',
  'memory.consolidate',
  'metrics.event-loop-sampler',
  'metrics.flush',
  'ml.training-flush',
  'pdca.reaper',
  'pdca.schedule',
  'session.sweep',
  'state.flush',
  'storage.disk-check',
  'storage.prune',
];

describe('GET /api/v1/admin/jobs', () => {
  let e: RunningEngine | undefined;
  afterAll(async () => {
    await e?.stop();
  });

  it('lists every periodic job with its schedule and last run, behind the token and in the OpenAPI document', async () => {
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, ML_FLUSH_INTERVAL_MS: '200', PDCA_INTERVAL_MS: '0' });
    expect((await request(`${e.url}/api/v1/admin/jobs`)).status).toBe(401);

    // The fast jobs have run at least once (state.flush: 1 s) before we look.
    await until(async () => {
      const res = await request(`${e!.url}/api/v1/admin/jobs`, { headers: auth });
      return res.body.data?.jobs.find((j: { name: string }) => j.name === 'state.flush')?.runs > 0;
    }, 'the state flush ran', 10_000, 50);
    const res = await request(`${e.url}/api/v1/admin/jobs`, { headers: auth });
    expect(res.status).toBe(200);
    const jobs = res.body.data.jobs as Array<Record<string, unknown>>;
    expect(jobs.map((j) => j.name)).toEqual(ALWAYS_REGISTERED);
    for (const job of jobs) {
      expect(Object.keys(job).sort()).toEqual(
        ['enabled', 'failures', 'interval_ms', 'last_duration_ms', 'last_error', 'last_run_at', 'name', 'runs', 'running', 'skipped_overlaps'].sort(),
      );
    }
    const byName = new Map(jobs.map((j) => [j.name, j]));
    expect(byName.get('state.flush')).toMatchObject({ interval_ms: 1000, enabled: true, last_error: null });
    expect(byName.get('state.flush')!.last_run_at).toEqual(expect.any(String));
    expect(byName.get('state.flush')!.last_duration_ms).toEqual(expect.any(Number));
    expect(byName.get('ml.training-flush')).toMatchObject({ interval_ms: 200, enabled: true });
    // Interval 0 is disabled: listed, never run.
    expect(byName.get('pdca.schedule')).toMatchObject({ interval_ms: 0, enabled: false, runs: 0 });
    // Each enabled job is a named interval in Nest's SchedulerRegistry.
    const registry = e.engine.app.get(SchedulerRegistry);
    expect(registry.getIntervals().sort()).toEqual(jobs.filter((j) => j.enabled).map((j) => j.name));

    const doc = await request(`${e.url}/docs-json`);
    expect(doc.body.paths['/api/v1/admin/jobs'].get).toBeDefined();
    expect(doc.body.components.schemas.JobStatusDto.properties.skipped_overlaps).toBeDefined();

    // Stopped at shutdown: no interval left behind.
    await e.stop();
    e = undefined;
    expect(registry.getIntervals()).toEqual([]);
  });
});

describe('/health/ready: one indicator each', () => {
  let e: RunningEngine;
  const ready = () => request(`${e.url}/health/ready`);

  beforeAll(async () => {
    e = await startEngine({ LOCK_LONG_HOLD_MS: '300', HEALTH_LOOP_DELAY_MAX_MS: '250', HEALTH_LOOP_DELAY_WINDOW_MS: '1000' });
  });
  afterAll(() => e.stop());

  it('reports every indicator with its details; liveness runs none', async () => {
    const res = await ready();
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.details).sort()).toEqual(['database', 'disk', 'event_loop', 'locks', 'ml', 'warmup']);
    expect(res.body.details.event_loop).toMatchObject({ status: 'up', max_delay_ms: 250, window_ms: 1000 });
    expect(res.body.details.locks).toMatchObject({ status: 'up', long_hold_ms: 300, long_holds: [], deadlocks_total: 0 });
    expect(res.body.details.warmup.status).toBe('up');
    const live = await request(`${e.url}/health/live`);
    expect(live.status).toBe(200);
    expect(live.body.details).toEqual({});
  });

  it('a blocked event loop makes it 503 (event_loop down) until the window has passed', async () => {
    // The engine runs in this process: a synchronous busy wait here blocks its event loop.
    const until_ = performance.now() + 600;
    while (performance.now() < until_) {
      /* blocking on purpose */
    }
    const res = await ready();
    expect(res.status).toBe(503);
    expect(res.body.error.event_loop).toMatchObject({ status: 'down', max_delay_ms: 250 });
    expect(res.body.error.event_loop.max_ms).toBeGreaterThan(250);
    await until(async () => (await ready()).status === 200, 'ready again once the stall left the window', 10_000, 100);
  });

  it('a lock held past LOCK_LONG_HOLD_MS makes it 503 (locks down, naming the lock) until it is released', async () => {
    const lock = e.engine.app.get(LockManager).resolve(LockName.CONFIG);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const held = withLock(lock, () => released);
    try {
      await until(async () => (await ready()).status === 503, 'readiness 503 while the lock is held', 10_000, 50);
      const res = await ready();
      expect(res.body.error.locks).toMatchObject({ status: 'down', long_hold_ms: 300 });
      expect(res.body.error.locks.long_holds[0]).toMatchObject({ lock: 'config', mode: 'write' });
      // The other indicators keep their own state.
      expect(res.body.info.database.status).toBe('up');
    } finally {
      release();
      await held;
    }
    await until(async () => (await ready()).status === 200, 'ready once released', 10_000, 50);
  });

});

describe('/health/ready: the ML tier', () => {
  let e: RunningEngine | undefined;
  afterAll(async () => {
    await e?.stop();
  });

  it('with its model removed is degraded, never down; a promoted model makes it healthy again', async () => {
    const dataDir = tempDir('okai-ready-ml-');
    const modelDir = path.join(dataDir, 'models');
    fs.mkdirSync(modelDir);
    // A first boot installs the default model as version 1 …
    e = await startEngine({ DATA_DIR: dataDir, MODEL_DIR: modelDir });
    expect((await request(`${e.url}/health/ready`)).body.info.ml).toMatchObject({ status: 'up', state: 'healthy' });
    await e.stop();
    e = undefined;
    // … which is gone at the next boot.
    fs.rmSync(path.join(modelDir, DEFAULT_MODEL_FILE));
    e = await startEngine({ DATA_DIR: dataDir, MODEL_DIR: modelDir });
    const before = await request(`${e.url}/health/ready`);
    expect(before.status).toBe(200);
    expect(before.body.info.ml).toMatchObject({ status: 'up', state: 'degraded' });
    fs.copyFileSync(path.join(ROOT, 'models', DEFAULT_MODEL_FILE), path.join(modelDir, 'fresh.onnx'));
    const staged = await request(`${e.url}/api/v1/ml/model/stage`, { body: { model_path: 'fresh.onnx' } });
    expect(staged.status).toBe(200);
    const promoted = await request(`${e.url}/api/v1/ml/model/promote`, { body: { staging_id: staged.body.data.staging_id } });
    expect(promoted.status).toBe(200);
    const after = await request(`${e.url}/health/ready`);
    expect(after.status).toBe(200);
    expect(after.body.info.ml).toMatchObject({ status: 'up', state: 'healthy' });
  });
});
