import { Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import Database from 'better-sqlite3';
import * as path from 'node:path';
import { DatabaseService } from '../src/common/database/database.service';
import { METRICS, type MetricsPort } from '../src/common/ports/metrics-sources.port';
import { HealthModule, WarmupService } from '../src/modules/health';
import { MetricsCollector } from '../src/modules/metrics';
import { parsePrometheusText, promSum, type PromFamily } from '../src/modules/metrics/prometheus-text.test-kit';
import { request, startEngine, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';
import { until } from '../src/common/testing/wait.test-kit';

const TOKEN = 'metrics-e2e-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const TIERS = ['reflex', 'rule', 'ml', 'llm'] as const;

/** Stands in for the ML / PDCA modules: registers through the port at init, as they will. */
let probeVersion = 7;
@Module({
  providers: [
    {
      provide: 'METRICS_PROBE',
      useFactory: (metrics: MetricsPort) => ({
        onModuleInit() {
          metrics.registerGauge('openkore_probe_model_version', 'Probe: active model version', () => probeVersion);
          metrics.registerCounter('openkore_probe_inferences_total', 'Probe: inferences by outcome', () => [{ labels: { outcome: 'ok' }, value: 12 }], {
            labelNames: ['outcome'],
          });
        },
      }),
      inject: [METRICS],
    },
  ],
})
class MetricsProbeModule {}

@Module({ providers: [{ provide: 'INIT_PROBE', useFactory: () => ({}) }] })
class EmptyProbeModule implements OnModuleInit {
  constructor(@Inject(METRICS) readonly metrics: MetricsPort) {}
  onModuleInit(): void {
    this.metrics.record('probe.init', 1);
  }
}

async function scrape(url: string, headers: Record<string, string> = AUTH): Promise<Map<string, PromFamily>> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return parsePrometheusText(await res.text());
}

/** A boot step that blocks the loop 300 ms, then waits until the sampler has recorded that delay. */
const BOOT_BLOCK_MS = 300;
let recordedAtBoot = 0;
@Injectable()
class BootStall {
  constructor(warmup: WarmupService, collector: MetricsCollector) {
    warmup.register('boot stall', async () => {
      const blockedUntil = performance.now() + BOOT_BLOCK_MS;
      while (performance.now() < blockedUntil) {
        // a long synchronous boot step
      }
      await until(() => collector.loopDelay.total.max >= BOOT_BLOCK_MS - 10, 'the sampler saw the block');
      recordedAtBoot = collector.loopDelay.total.max;
    });
  }
}

@Module({ imports: [HealthModule], providers: [BootStall] })
class BootStallModule {}

describe('event-loop delay of a booting engine', () => {
  it('counts from the moment the engine listens: a stall of the boot is not in the served engine’s figures', async () => {
    const e = await startEngine({}, { extraImports: [BootStallModule] });
    try {
      expect(recordedAtBoot).toBeGreaterThanOrEqual(BOOT_BLOCK_MS - 10);
      const res = await request(`${e.url}/api/v1/metrics/event-loop?since=0`);
      expect(res.status).toBe(200);
      expect(res.body.data.max_ms ?? 0).toBeLessThan(BOOT_BLOCK_MS - 10);
      expect(e.engine.app.get(MetricsCollector).loopDelay.total.max).toBeLessThan(BOOT_BLOCK_MS - 10);
    } finally {
      await e.stop();
    }
  });
});

describe('metrics over real HTTP', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN }, { extraImports: [MetricsProbeModule, EmptyProbeModule] });
  });
  afterAll(() => e.stop());

  it('GET /metrics needs the token (METRICS_PUBLIC unset) and answers Prometheus text that parses strictly', async () => {
    const denied = await request(`${e.url}/metrics`);
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({ status: 'error', error: { code: 'INVALID_TOKEN' } });
    const wrong = await request(`${e.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    const families = await scrape(e.url);
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_eventloop_lag_p99_seconds')?.type).toBe('gauge');
  });

  it('concurrent logging from many clients loses no count: responses, summaries, Prometheus and decision_log agree', async () => {
    const clients = 40;
    const perClient = 15;
    const sent = { success: new Map<string, number>(), failure: new Map<string, number>() };
    let withStrategy = 0;
    const results = await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const ids: number[] = [];
        for (let i = 0; i < perClient; i++) {
          const tier = TIERS[(c + i) % 4];
          const success = (c * perClient + i) % 3 !== 0;
          const strategy = i % 5 === 0 ? { strategy_id: 'farm-A' } : {};
          if (i % 5 === 0) withStrategy++;
          const bucket = success ? sent.success : sent.failure;
          bucket.set(tier, (bucket.get(tier) ?? 0) + 1);
          const res = await request(`${e.url}/api/v1/metrics/log`, {
            headers: AUTH,
            body: { session_id: `bot-${c}`, decision_tier: tier, action_type: 'ATTACK', success, outcome: success ? 'killed' : 'fled', processing_time_ms: 1 + ((c + i) % 10), ...strategy },
          });
          expect(res.status).toBe(200);
          ids.push(res.body.data.log_id);
        }
        return ids;
      }),
    );
    const total = clients * perClient;
    const ids = results.flat();
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(total);

    // Every acknowledged log is a row, and each log_id is that row's id.
    const rows = await e.engine.app.get(DatabaseService).all<{ id: number }>(`SELECT id FROM decision_log WHERE session_id LIKE 'bot-%' ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([...ids].sort((a, b) => a - b));

    const report = (await request(`${e.url}/api/v1/metrics`, { headers: AUTH })).body.data;
    expect(report.decision_outcomes.logged).toBe(total);
    for (const tier of TIERS) {
      expect(report.decision_outcomes.by_tier[tier]).toMatchObject({ success: sent.success.get(tier) ?? 0, failure: sent.failure.get(tier) ?? 0 });
      // Per-tier timing counts every logged decision of the tier (the window is a minute).
      expect(report.performance.response_time_window_ms[tier].count).toBe((sent.success.get(tier) ?? 0) + (sent.failure.get(tier) ?? 0));
    }

    const families = await scrape(e.url);
    for (const tier of TIERS) {
      for (const result of ['success', 'failure'] as const) {
        expect(promSum(families, 'openkore_decision_outcomes_logged_total', { tier, result })).toBe(sent[result].get(tier) ?? 0);
      }
    }

    const port = e.engine.app.get<MetricsPort>(METRICS);
    expect(port.aggregate('decision.processing_ms').lifetime.count).toBe(total);
    const strategy = port.strategySummary('farm-A');
    expect(strategy.metrics['decision.success'].count).toBe(withStrategy);
    expect(strategy.metrics['decision.processing_ms'].count).toBe(withStrategy);
  });

  it('the exposition covers HTTP by route pattern, decisions, locks, session queues, the database and registered sources', async () => {
    const hs = await request(`${e.url}/api/v1/handshake`, { headers: AUTH, body: { client: 'metrics-e2e', client_version: '1' } });
    const sid: string = hs.body.data.session_id;
    const tick = await request(`${e.url}/api/v1/state`, { headers: AUTH, body: { session_id: sid, game_state: pluginGameState() } });
    expect([200, 202]).toContain(tick.status);
    expect((await request(`${e.url}/api/v1/state/${sid}`, { headers: AUTH })).status).toBe(200);
    expect((await request(`${e.url}/no/such/route/${sid}`, { headers: AUTH })).status).toBe(404);
    probeVersion = 8;

    const f = await scrape(e.url);
    const http = f.get('openkore_http_request_duration_seconds')!;
    expect(http.type).toBe('histogram');
    const routes = new Set(http.samples.map((s) => s.labels.route));
    expect(routes).toContain('/api/v1/state/:sessionId');
    expect(routes).toContain('/api/v1/metrics/log');
    expect(routes).toContain('unmatched');
    // Ids never become label values.
    expect([...routes].some((r) => r.includes(sid))).toBe(false);
    expect(promSum(f, 'openkore_http_request_duration_seconds', { route: 'unmatched', status: '404' }, 'openkore_http_request_duration_seconds_count')).toBe(1);
    expect(promSum(f, 'openkore_http_request_duration_seconds', { route: '/api/v1/state', method: 'POST' }, 'openkore_http_request_duration_seconds_count')).toBe(1);

    expect(promSum(f, 'openkore_decisions_total')).toBeGreaterThanOrEqual(1);
    expect(f.get('openkore_decisions_total')!.samples.map((s) => s.labels.tier).sort()).toEqual(['llm', 'ml', 'reflex', 'rule']);
    expect(promSum(f, 'openkore_lock_acquisitions_total', { lock: 'database' })).toBeGreaterThan(0);
    expect(f.get('openkore_lock_hold_seconds')!.samples.some((s) => s.labels.lock === 'database' && s.labels.stat === 'max')).toBe(true);
    for (const name of ['openkore_lock_contentions_total', 'openkore_lock_wait_seconds', 'openkore_session_turns_in_flight', 'openkore_session_queued_requests', 'openkore_session_queue_rejected_total', 'openkore_db_busy_retries_total']) {
      expect(f.has(name)).toBe(true);
    }
    expect(promSum(f, 'openkore_db_commits_total')).toBeGreaterThan(0);
    expect(promSum(f, 'openkore_probe_model_version')).toBe(8);
    expect(promSum(f, 'openkore_probe_inferences_total', { outcome: 'ok' })).toBe(12);
    expect(promSum(f, 'openkore_metrics_recorded_total')).toBeGreaterThan(0);
    expect(promSum(f, 'openkore_metrics_ring_overwrites_total')).toBe(0);
    // A module's init-time record went through the port too.
    expect(e.engine.app.get<MetricsPort>(METRICS).summaryFor('probe.init')?.lifetime.count).toBe(1);
  });

  it('GET /api/v1/metrics has the spec shape: decision_stats, performance, resource_usage, uptime', async () => {
    await request(`${e.url}/api/v1/metrics`, { headers: AUTH });
    const res = await request(`${e.url}/api/v1/metrics`, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    const d = res.body.data;
    expect(Object.keys(d.decision_stats)).toEqual(expect.arrayContaining(['total_decisions', 'reflex_decisions', 'rule_decisions', 'ml_decisions', 'llm_decisions']));
    expect(d.decision_stats.total_decisions).toBe(TIERS.reduce((n, t) => n + d.decision_stats[`${t}_decisions`], 0));
    expect(Object.keys(d.performance.avg_response_time_ms).sort()).toEqual(['llm', 'ml', 'reflex', 'rule']);
    expect(d.performance.requests_per_second).toBeGreaterThan(0);
    expect(d.performance.error_rate).toBeGreaterThanOrEqual(0);
    expect(d.performance.error_rate).toBeLessThanOrEqual(1);
    expect(d.performance.http_avg_response_time_ms).toBeGreaterThan(0);
    expect(d.resource_usage.memory_rss_mb).toBeGreaterThan(0);
    expect(d.resource_usage.heap_used_mb).toBeGreaterThan(0);
    expect(typeof d.uptime_seconds).toBe('number');
    expect(d.collector).toMatchObject({ ring_capacity: 65536, overwrites_total: 0, window_seconds: 60 });
    expect(d.resource_usage.event_loop_delay).toMatchObject({ resolution_ms: 2, window_seconds: 60 });
    expect(d.resource_usage.event_loop_delay.samples).toBeGreaterThan(0);
    expect(d.resource_usage.event_loop_lag_max_ms).toBe(d.resource_usage.event_loop_delay.max_ms);
  });

  it('exposes the event-loop delay: a block of the loop shows in the window, from `since`, and in Prometheus', async () => {
    const since = Date.now();
    const until = performance.now() + 40;
    while (performance.now() < until) {
      // the engine runs in this process: a synchronous 40 ms block of its loop
    }
    const res = await request(`${e.url}/api/v1/metrics/event-loop?since=${since}`, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.body.data.max_ms).toBeGreaterThanOrEqual(38 - 2);
    expect(res.body.data.since).toBeLessThanOrEqual(since);
    expect(res.body.data.since).toBeGreaterThan(since - 1000);
    const later = await request(`${e.url}/api/v1/metrics/event-loop?since=${Date.now() + 5_000}`, { headers: AUTH });
    expect(later.body.data).toMatchObject({ samples: 0, max_ms: null });
    expect((await request(`${e.url}/api/v1/metrics/event-loop?since=soon`, { headers: AUTH })).status).toBe(400);

    const f = await scrape(e.url);
    expect(f.get('openkore_event_loop_delay_seconds')!.type).toBe('histogram');
    expect(promSum(f, 'openkore_event_loop_delay_seconds', { le: '0.02' }, 'openkore_event_loop_delay_seconds_bucket')).toBeLessThan(
      promSum(f, 'openkore_event_loop_delay_seconds', {}, 'openkore_event_loop_delay_seconds_count'),
    );
    const stats = new Map(f.get('openkore_event_loop_delay_window_seconds')!.samples.map((s) => [s.labels.stat, s.value]));
    expect(stats.get('max')).toBeGreaterThanOrEqual(0.036);
    expect([...stats.keys()].sort()).toEqual(['max', 'mean', 'p50', 'p99']);
  });

  it('POST /api/v1/metrics/log refuses malformed logs with 400 and writes nothing', async () => {
    const good = { session_id: 'bad-input', decision_tier: 'rule', action_type: 'SIT', success: true, processing_time_ms: 2 };
    // Only these logs' rows: the decision path's own batched decision_log writes land any time.
    const count = async () => (await e.engine.app.get(DatabaseService).get<{ n: number }>(`SELECT COUNT(*) AS n FROM decision_log WHERE session_id IN ('bad-input', '')`))!.n;
    const before = await count();
    for (const body of [
      { ...good, decision_tier: 'oracle' },
      { ...good, success: 'yes' },
      { ...good, processing_time_ms: -1 },
      { ...good, processing_time_ms: 'fast' },
      { ...good, extra: 1 },
      { ...good, session_id: '' },
      { ...good, strategy_id: 'has space' },
      (({ success: _s, ...rest }) => rest)(good),
    ]) {
      const res = await request(`${e.url}/api/v1/metrics/log`, { headers: AUTH, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
    }
    expect(await count()).toBe(before);
    expect(before).toBe(0);
  });
});

describe('metrics with METRICS_PUBLIC=1, rollups to the metrics table', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, METRICS_PUBLIC: '1', METRICS_FLUSH_INTERVAL_MS: '50', METRICS_ROLLUP_INTERVAL_MS: '1000' });
  });
  afterAll(() => e.stop());

  it('serves /metrics without the token; the JSON API still needs it', async () => {
    const f = await scrape(e.url, {});
    expect(f.has('openkore_http_request_duration_seconds')).toBe(true);
    expect((await request(`${e.url}/api/v1/metrics`)).status).toBe(401);
  });

  it('persists rollups while running and every remaining value at shutdown: persisted counts equal what was logged', async () => {
    const n = 120;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        request(`${e.url}/api/v1/metrics/log`, {
          headers: AUTH,
          body: { session_id: `roll-${i % 6}`, decision_tier: TIERS[i % 4], action_type: 'ATTACK', success: true, processing_time_ms: i, strategy_id: 'S1' },
        }).then((r) => expect(r.status).toBe(200)),
      ),
    );
    const db = e.engine.app.get(DatabaseService);
    await until(async () => ((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM metrics WHERE name = 'decision.processing_ms'`))?.n ?? 0) > 0, 'a rollup row');
    const file = path.join(e.dataDir, 'openkore-ai.db');
    await e.stop();
    const conn = new Database(file, { readonly: true });
    try {
      const persisted = conn.prepare(`SELECT SUM(sample_count) AS n, MIN(value_min) AS lo, MAX(value_max) AS hi FROM metrics WHERE name = 'decision.processing_ms' AND strategy_id = 'S1'`).get() as {
        n: number;
        lo: number;
        hi: number;
      };
      expect(persisted).toEqual({ n, lo: 0, hi: n - 1 });
      const logged = conn.prepare(`SELECT COUNT(*) AS n FROM decision_log WHERE session_id LIKE 'roll-%'`).get() as { n: number };
      expect(logged.n).toBe(n);
    } finally {
      conn.close();
    }
  });
});
