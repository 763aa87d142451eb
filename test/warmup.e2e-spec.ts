import { Injectable, Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConsoleService } from '../src/modules/console';
import { DecisionService } from '../src/modules/decision';
import { HealthModule, WarmupService } from '../src/modules/health';
import { parsePrometheusText, promSum } from '../src/modules/metrics/prometheus-text.test-kit';
import { request, spawnEngine, startEngine, tempDir } from './support/engine';
import { fieldDecideBody } from './support/field-plugin';
import { pluginGameState } from './support/game-state';

/** Asks for readiness, through the engine's own HTTP stack, while the warm-up is still running. */
const duringWarmup: Array<{ status: number; body: unknown }> = [];

@Injectable()
class ReadinessProbe {
  constructor(warmup: WarmupService, host: HttpAdapterHost) {
    warmup.register('readiness probe', async () => {
      const fastify = host.httpAdapter.getInstance<FastifyInstance>();
      const res = await fastify.inject({ method: 'GET', url: '/health/ready' });
      duringWarmup.push({ status: res.statusCode, body: res.json() });
    });
  }
}

@Module({ imports: [HealthModule], providers: [ReadinessProbe] })
class ReadinessProbeModule {}

const TABLES = ['player_sessions', 'game_state_snapshots', 'decision_log', 'training_data', 'memories', 'interaction_history'] as const;

/** The real decision service's per-session maps (the console's last decisions, the action queues): private, read here to show they stay empty. */
function perSessionMaps(decisions: DecisionService): { last: number; queues: number } {
  const d = decisions as unknown as { last: Map<string, unknown>; queues: Map<string, unknown> };
  return { last: d.last.size, queues: d.queues.size };
}

function counts(dataDir: string): Record<string, number> {
  const db = new Database(path.join(dataDir, 'openkore-ai.db'), { readonly: true });
  try {
    return Object.fromEntries(TABLES.map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

describe('cold start: readiness after the warm-up, and the warm-up leaves no trace', () => {
  it('readiness is 503 while the hot path warms up and 200 once it is warm; the warm-up wrote and counted nothing', async () => {
    const e = await startEngine({ WARMUP_ROUNDS: '300' }, { extraImports: [ReadinessProbeModule] });
    try {
      // Asked during the warm-up (the engine did not listen yet): not ready, and why.
      expect(duringWarmup).toHaveLength(1);
      expect(duringWarmup[0].status).toBe(503);
      expect(duringWarmup[0].body).toMatchObject({ status: 'error', error: { warmup: { status: 'down' } } });

      const ready = await request(`${e.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body.details.warmup).toMatchObject({ status: 'up', rounds: 300 });
      const report = e.engine.app.get(WarmupService).report();
      // 'request pipeline': Node's HTTP stack, the front door and the pipeline, on a loopback server of their own.
      expect(report.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['request pipeline', 'decision path', 'ml model', 'metrics', 'readiness probe']));
      expect(report.steps.filter((s) => s.error)).toEqual([]);

      // Nothing of it is visible: no session, no decision, no request, no lock taken on the engine's own locks.
      expect((await request(`${e.url}/api/v1/sessions`)).body.data).toEqual([]);
      const metrics = (await request(`${e.url}/api/v1/metrics`)).body.data;
      expect(metrics.decision_stats.total_decisions).toBe(0);
      expect(Object.values(metrics.performance.response_time_window_ms).every((t) => (t as { count: number }).count === 0)).toBe(true);
      const prom = parsePrometheusText(await (await fetch(`${e.url}/metrics`)).text());
      expect(promSum(prom, 'openkore_decisions_total')).toBe(0);
      expect(promSum(prom, 'openkore_http_request_duration_seconds', { route: '/api/v1/decide' }, 'openkore_http_request_duration_seconds_count')).toBe(0);
      expect(promSum(prom, 'openkore_lock_acquisitions_total', { lock: 'state' })).toBe(0);
      // Its session turns were taken on locks of its own.
      expect(promSum(prom, 'openkore_lock_acquisitions_total', { lock: 'session' })).toBe(0);
      expect(promSum(prom, 'openkore_ml_inferences_total')).toBe(0);
      expect(promSum(prom, 'openkore_storage_shed_total')).toBe(0);
      expect(promSum(prom, 'openkore_storage_deferred_flushes_total')).toBe(0);

      // The operator console: no bot, no decision, no last decision kept, a flat chart.
      const decisions = e.engine.app.get(DecisionService);
      expect(perSessionMaps(decisions)).toEqual({ last: 0, queues: 0 });
      const consoleService = e.engine.app.get(ConsoleService);
      await consoleService.tick(Date.now() + 1_000);
      const summary = (await request(`${e.url}/api/v1/console/summary`)).body.data.summary;
      expect(summary.bots).toMatchObject({ total: 0, rows: [] });
      expect(summary.decisions.totals.total).toBe(0);
      expect(summary.decisions.latency).toMatchObject({ p50: null, p99: null });
      const points = consoleService.historyPoints();
      expect(points.length).toBeGreaterThan(0);
      for (const point of points) expect(point).toMatchObject({ rates: { reflex: 0, rule: 0, ml: 0, llm: 0 }, p50: null, p99: null });

      // The storage module: nothing shed, deferred or failed on the engine's guard, no rows to prune.
      const storage = (await request(`${e.url}/api/v1/admin/storage`)).body.data;
      expect(storage.disk).toMatchObject({ shed: { decision_log: 0, training_data: 0 }, deferred_flushes: 0, out_of_space_errors: 0, writes_failing: false });
      const rows = Object.fromEntries(storage.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
      expect(rows).toMatchObject({ decision_log: 0, training_data: 0, game_state_snapshots: 0 });
      expect(storage.prune.runs).toBe(0);

      // The first real tick is served as usual, and shows where the warm-up's would have.
      const tick = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'FirstBot' }) } });
      expect(tick.status).toBe(200);
      expect((await request(`${e.url}/api/v1/metrics`)).body.data.decision_stats.total_decisions).toBe(1);
      expect(perSessionMaps(decisions)).toEqual({ last: 1, queues: 1 });
      const after = (await request(`${e.url}/api/v1/console/summary`)).body.data.summary;
      expect(after.bots.rows).toEqual([expect.objectContaining({ character: 'FirstBot', tier: expect.any(String), action: expect.any(String) })]);
    } finally {
      await e.stop();
    }
    // After shutdown every background writer has drained: only the real tick's rows are there.
    expect(counts(e.dataDir)).toMatchObject({ player_sessions: 1, game_state_snapshots: 1, decision_log: 1, training_data: 0 });
  }, 60_000);

  it('on a critical disk the warm-up sheds nothing on the engine\'s guard (its rows go to a throwaway one); a real tick is shed and counted', async () => {
    // Thresholds above any real free space: the disk is critical from the first reading, before the warm-up.
    const huge = String(16 * 1_048_576);
    const e = await startEngine({ WARMUP_ROUNDS: '200', STORAGE_LOW_DISK_MB: huge, STORAGE_CRITICAL_DISK_MB: huge });
    try {
      const report = e.engine.app.get(WarmupService).report();
      expect(report.steps.find((s) => s.name === 'decision path')).toBeDefined();
      expect(report.steps.filter((s) => s.error)).toEqual([]);
      const before = (await request(`${e.url}/api/v1/metrics`)).body.data.storage;
      expect(before).toMatchObject({ level: 'critical', shedding: true, shed: { decision_log: 0, training_data: 0 }, deferred_flushes: 0 });

      const tick = await request(`${e.compatUrl ?? e.url}/api/v1/decide`, { body: fieldDecideBody({ name: 'ShedBot' }) });
      expect(tick.status).toBe(200);
      expect((await request(`${e.url}/api/v1/metrics`)).body.data.storage.shed).toEqual({ decision_log: 1, training_data: 0 });
    } finally {
      await e.stop();
    }
    expect(counts(e.dataDir)).toMatchObject({ player_sessions: 1, decision_log: 0, training_data: 0 });
  }, 60_000);

  it('the built engine (default warm-ups, the HTTP rehearsal included) is ready as soon as it listens; the rehearsal left nothing in it; a herd of new characters each gets its own session at once, the rows follow', async () => {
    const dataDir = tempDir();
    // Its own temporary folder: the rehearsal engine's data must be gone once the engine listens.
    const tmp = tempDir();
    const token = 'rehearsal-sends-the-token';
    // WARMUP_ROUNDS and WARMUP_HTTP_REQUESTS empty: the engine's defaults.
    const engine = await spawnEngine({ DATA_DIR: dataDir, WARMUP_ROUNDS: '', WARMUP_HTTP_REQUESTS: '', TMPDIR: tmp, OPENKORE_AI_TOKEN: token });
    const auth = { authorization: `Bearer ${token}` };
    try {
      const warmed = engine.logs.join('').split('\n').find((line) => line.includes('"msg":"warmed up"'));
      expect(warmed).toBeDefined();
      const steps = (JSON.parse(warmed!) as { steps: Array<{ name: string; error?: string }> }).steps;
      // Every rehearsal request answered 200: the token went with them, no limit refused them.
      expect(steps[0]).toEqual({ name: 'http rehearsal (2000 requests, 0 not 200)', duration_ms: expect.any(Number) });
      expect(steps.filter((s) => s.error)).toEqual([]);
      expect(fs.readdirSync(tmp).filter((f) => f.startsWith('openkore-ai-rehearsal-'))).toEqual([]);

      const ready = await request(`${engine.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body.details.warmup.status).toBe('up');
      // Nothing of the rehearsal in the engine: no session, no decision nor request counted.
      expect((await request(`${engine.url}/api/v1/sessions`, { headers: auth })).body.data).toEqual([]);
      const metrics = (await request(`${engine.url}/api/v1/metrics`, { headers: auth })).body.data;
      expect(metrics.decision_stats.total_decisions).toBe(0);
      // Exactly this test's two requests so far (readiness, sessions): none of the rehearsal's.
      expect(metrics.performance.requests_total).toBe(2);
      const herd = await Promise.all(
        Array.from({ length: 50 }, (_, i) => request(`${engine.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: `Herd${i}` }) }, headers: auth })),
      );
      expect(herd.every((r) => r.status === 200)).toBe(true);
      // Every character got its own session at once (in memory); the rows follow in the background.
      expect(new Set(herd.map((r) => r.body.session_id)).size).toBe(50);
    } finally {
      expect(await engine.kill('SIGTERM')).toBe(0);
    }
    // Exactly the herd's rows: none of the rehearsal's 2,000 requests reached this database.
    expect(counts(dataDir)).toMatchObject({ player_sessions: 50, game_state_snapshots: 50, decision_log: 50, training_data: 0 });
  }, 90_000);
});
