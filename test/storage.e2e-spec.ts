import { SchedulerRegistry } from '@nestjs/schedule';
import { DatabaseService } from '../src/common/database/database.service';
import { type FreeSpace, StorageGuard } from '../src/common/database/storage-guard';
import { FEATURE_COUNT, TrainingDataService } from '../src/modules/ml';
import { DecisionLogWriter } from '../src/modules/decision';
import { DISK_CHECK_JOB, PRUNE_JOB } from '../src/modules/storage';
import { pluginGameState } from './support/game-state';
import { request, type RunningEngine, startEngine } from './support/engine';

const HOUR = 3_600_000;
const MB = 1024 * 1024;
const FEATURES = Array.from({ length: FEATURE_COUNT }, (_, i) => (i % 5) / 5);

describe('retention: the prune job', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({
      RETENTION_DECISION_LOG: '1h',
      RETENTION_INTERACTIONS: '1h',
      RETENTION_INTERACTIONS_KEEP: '2',
      RETENTION_BATCH_ROWS: '50',
      RETENTION_PRUNE_INTERVAL: '1h',
    });
  });
  afterAll(() => e.stop());

  const count = async (sql: string, params: unknown[] = []) => Number((await e.engine.app.get(DatabaseService).get<{ n: number }>(sql, params))!.n);

  it('is a named interval in the SchedulerRegistry, beside the free-space reading', () => {
    expect(e.engine.app.get(SchedulerRegistry).getIntervals()).toEqual(expect.arrayContaining([PRUNE_JOB, DISK_CHECK_JOB]));
  });

  it('deletes rows older than their retention in batches and nothing younger', async () => {
    const db = e.engine.app.get(DatabaseService);
    // Young rows through the API: decisions (the plugin's route) and reputation changes.
    for (let i = 0; i < 30; i++) {
      const res = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'Young' }) } });
      expect(res.status).toBe(200);
    }
    for (let i = 0; i < 5; i++) {
      const res = await request(`${e.url}/api/v1/social/reputation/adjust`, {
        body: { player_id: 4242, player_name: 'Trader', delta: 1, reason: 'young', request_id: `young-${i}` },
      });
      expect(res.status).toBe(200);
    }
    await e.engine.app.get(DecisionLogWriter).flush();
    const young = await count(`SELECT COUNT(*) AS n FROM decision_log`);
    expect(young).toBeGreaterThanOrEqual(30);
    // Old rows as a long-running engine has them: in front of the young ones (the young rows'
    // ids are moved past them), in a table the job walks oldest first.
    const old = Date.now() - 2 * HOUR;
    await db.write(async (tx) => {
      for (let i = 0; i < 180; i++) {
        await tx.run(`INSERT INTO decision_log (session_id, decision_tier, action_type, processing_time_ms, created_at) VALUES ('old', 'rule', 'ATTACK', 1, ?)`, [old + i]);
      }
    });
    db.connection.exec(`UPDATE decision_log SET id = id + 1000000 WHERE session_id <> 'old'`);
    await db.write(async (tx) => {
      for (let i = 0; i < 7; i++) {
        await tx.run(
          `INSERT INTO interaction_history (player_id, player_name, interaction_type, outcome, reputation_delta, applied_delta, score_before, score_after, tier_after, source, created_at)
           VALUES (4242, 'Trader', 'trade', 'old', 1, 1, 0, 1, 'Neutral', 'api', ?)`,
          [old],
        );
      }
    });
    db.connection.exec(`UPDATE interaction_history SET id = id + 1000000 WHERE outcome <> 'old'`);
    db.connection.exec(`UPDATE player_reputation SET total_interactions = total_interactions + 7 WHERE player_id = 4242`);

    const res = await request(`${e.url}/api/v1/admin/storage/prune`, { method: 'POST' });
    expect(res.status).toBe(200);
    const report = res.body.data;
    const decisions = report.tables.find((t: { table: string }) => t.table === 'decision_log');
    expect(decisions).toMatchObject({ deleted: 180, batches: 4, largest_batch: 50 });
    const history = report.tables.find((t: { table: string }) => t.table === 'interaction_history');
    expect(history).toMatchObject({ deleted: 7 });
    expect(await count(`SELECT COUNT(*) AS n FROM decision_log WHERE session_id = 'old'`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM decision_log`)).toBe(young);
    // All five young changes stay (younger than the period), although only 2 are "the newest N".
    expect(await count(`SELECT COUNT(*) AS n FROM interaction_history`)).toBe(5);

    // The admin view: rows, bytes, oldest row, retention and last prune per table; disk; runs.
    const view = (await request(`${e.url}/api/v1/admin/storage`)).body.data;
    const row = view.tables.find((t: { table: string }) => t.table === 'decision_log');
    expect(row).toMatchObject({ rows: young, retention: expect.stringContaining('1h'), last_prune: { last_deleted: 180, deleted_total: 180 } });
    expect(row.bytes).toBeGreaterThan(0);
    expect(Date.parse(row.oldest_row_at)).toBeGreaterThan(Date.now() - HOUR);
    expect(view.database).toMatchObject({ auto_vacuum: 'incremental', page_size: 4096 });
    expect(view.disk).toMatchObject({ level: 'ok', writes_failing: false, shedding: false });
    expect(view.disk.free_bytes).toBeGreaterThan(0);
    expect(view.prune).toMatchObject({ interval_ms: HOUR, batch_rows: 50, runs: 1, last_run: { trigger: 'admin', deleted: 187 } });
    expect(view.tables.map((t: { table: string }) => t.table)).toEqual(expect.arrayContaining(['memories', 'macro_versions', 'training_data', 'pdca_cycles', 'metrics', 'game_state_snapshots']));
  });
});

describe('low disk: optional writes are shed, promised ones kept', () => {
  let e: RunningEngine;
  let free: FreeSpace;
  beforeAll(async () => {
    e = await startEngine({ STORAGE_LOW_DISK_MB: '500', STORAGE_CRITICAL_DISK_MB: '100', STORAGE_CHECK_INTERVAL_MS: '0', ML_FLUSH_INTERVAL_MS: '0' });
    free = { freeBytes: 10_000 * MB, totalBytes: 20_000 * MB };
    const guard = e.engine.app.get(StorageGuard);
    // A simulated disk: the test decides how much is free.
    guard.useReader(() => Promise.resolve(free));
    await guard.refresh();
  });
  afterAll(() => e.stop());

  const setFree = async (mb: number) => {
    free = { freeBytes: mb * MB, totalBytes: 20_000 * MB };
    await e.engine.app.get(StorageGuard).refresh();
  };
  const count = async (sql: string) => Number((await e.engine.app.get(DatabaseService).get<{ n: number }>(sql))!.n);
  const decide = (name: string) => request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name }) } });

  it('under the low threshold only says so: degraded health, readiness still 200 with the disk detail', async () => {
    await setFree(300);
    const health = await request(`${e.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', components: { disk: { status: 'degraded' } } });
    expect(health.body.issues.join(' ')).toContain('STORAGE_LOW_DISK_MB');
    const ready = await request(`${e.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.info.disk).toMatchObject({ status: 'up', state: 'degraded' });
    expect((await decide('Calm')).status).toBe(200);
    await e.engine.app.get(DecisionLogWriter).flush();
    expect(await count(`SELECT COUNT(*) AS n FROM decision_log`)).toBeGreaterThan(0);
  });

  it('under the critical threshold drops decision logs and training samples (counted), keeps reputation, sessions, snapshots and memories', async () => {
    await setFree(50);
    await e.engine.app.get(DecisionLogWriter).flush();
    const logsBefore = await count(`SELECT COUNT(*) AS n FROM decision_log`);
    const samplesBefore = await count(`SELECT COUNT(*) AS n FROM training_data`);

    // Decisions are still answered; their log rows are not written.
    for (let i = 0; i < 10; i++) expect((await decide('Shed')).status).toBe(200);
    const samples = Array.from({ length: 4 }, () => ({ features: FEATURES, action: 'ATTACK', success: true }));
    const posted = await request(`${e.url}/api/v1/ml/samples`, { body: { samples } });
    expect(posted.status).toBe(202);
    expect(posted.body.data).toMatchObject({ accepted: 0, dropped: 4 });
    const logged = await request(`${e.url}/api/v1/metrics/log`, {
      body: { session_id: 'x', decision_tier: 'rule', action_type: 'ATTACK', success: true, processing_time_ms: 1 },
    });
    expect(logged.status).toBe(503);
    expect(logged.body.error.code).toBe('STORAGE_FULL');
    expect(Number(logged.headers.get('retry-after'))).toBeGreaterThan(0);

    // What the engine promised is still written.
    const hs = await request(`${e.url}/api/v1/handshake`, { body: { client: 'test', client_version: '1' } });
    expect(hs.status).toBe(200);
    const sid = hs.body.data.session_id as string;
    const adjust = await request(`${e.url}/api/v1/social/reputation/adjust`, { body: { player_id: 77, player_name: 'Friend', delta: 5, reason: 'helped', request_id: 'shed-1' } });
    expect(adjust.status).toBe(200);
    const mem = await request(`${e.url}/api/v1/memory/store`, { body: { session_id: sid, event: { type: 'death', location: { map: 'prt_fild08', x: 1, y: 2 } }, importance: 0.9 } });
    expect(mem.status).toBe(200);
    const state = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState({ name: 'Kept' }) } });
    expect([200, 202]).toContain(state.status);

    await e.engine.app.get(DecisionLogWriter).flush();
    await e.engine.app.get(TrainingDataService).flush();
    expect(await count(`SELECT COUNT(*) AS n FROM decision_log`)).toBe(logsBefore);
    expect(await count(`SELECT COUNT(*) AS n FROM training_data`)).toBe(samplesBefore);
    expect(await count(`SELECT COUNT(*) AS n FROM player_sessions WHERE session_id = '${sid}'`)).toBe(1);
    expect(await count(`SELECT COUNT(*) AS n FROM interaction_history WHERE request_id = 'shed-1'`)).toBe(1);
    expect(await count(`SELECT COUNT(*) AS n FROM memories WHERE session_id = '${sid}'`)).toBe(1);

    // Said in health, metrics and Prometheus.
    const health = await request(`${e.url}/health`);
    expect(health.body.components.disk).toMatchObject({ status: 'degraded', detail: expect.stringContaining('dropping') });
    const metrics = (await request(`${e.url}/api/v1/metrics`)).body.data;
    expect(metrics.storage).toMatchObject({ level: 'critical', shedding: true, free_bytes: 50 * MB });
    expect(metrics.storage.shed.decision_log).toBeGreaterThanOrEqual(11);
    expect(metrics.storage.shed.training_data).toBe(4);
    const prom = await (await fetch(`${e.url}/metrics`)).text();
    expect(prom).toMatch(/openkore_storage_shed_total\{kind="training_data"\} 4/);
    expect(prom).toMatch(/openkore_disk_free_bytes 52428800/);
    expect(prom).toMatch(/openkore_storage_level\{level="critical"\} 1/);
  });

  it('resumes optional writes by itself once space is back', async () => {
    await setFree(5_000);
    const before = await count(`SELECT COUNT(*) AS n FROM decision_log`);
    expect((await decide('Back')).status).toBe(200);
    await e.engine.app.get(DecisionLogWriter).flush();
    expect(await count(`SELECT COUNT(*) AS n FROM decision_log`)).toBe(before + 1);
    expect((await request(`${e.url}/health`)).body.components.disk.status).toBe('healthy');
  });
});
