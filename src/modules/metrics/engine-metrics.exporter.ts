import { Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { LockManager, SessionSerializer } from '../../common/concurrency';
import { DatabaseService } from '../../common/database/database.service';
import { RequestStats } from '../../common/http/request-stats';
import type { LabeledValue, MetricSeriesHandle } from '../../common/ports/metrics-sources.port';
import { DECISION_TIERS } from '../decision';
import { DecisionLogWriter } from '../decision';
import { DecisionService } from '../decision';
import type { BucketHistogram } from './bucket-histogram';
import { METRICS_COLLECTOR_OPTIONS, MetricsCollector, type MetricsCollectorOptions } from './metrics-collector.service';
import { registerMetricsWarmup } from './metrics.warmup';
import { WarmupService } from '../health';
import { MetricsService, SERIES } from './metrics.service';
import { PromRegistry } from './prom-registry';

/** Route label of requests no route matched (404s, scanners): one label, not one per URL. */
export const UNMATCHED_ROUTE = 'unmatched';
const HTTP_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATS = ['mean', 'p99', 'max'] as const;
const LOOP_DELAY_BUCKETS_SECONDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Everything `GET /metrics` shows about the engine itself, read from the owners' counters at
 * scrape time (nothing is copied on the request path except the HTTP histogram):
 * HTTP durations by method/route/status, decisions by tier, logged outcomes, lock contention by
 * lock, session queues, database commits and busy retries, the collector's own health.
 * Values other modules register (model version, inferences, PDCA phase, training-buffer drops)
 * come through `PromRegistry.registerGauge/registerCounter`; Node's process metrics through
 * prom-client's default collectors.
 */
@Injectable()
export class EngineMetricsExporter implements OnModuleInit {
  private readonly logger = new Logger(EngineMetricsExporter.name);
  private histogram: BucketHistogram | undefined;
  private httpSeries: MetricSeriesHandle | undefined;
  private errorSeries: MetricSeriesHandle | undefined;

  constructor(
    private readonly prom: PromRegistry,
    private readonly collector: MetricsCollector,
    private readonly metrics: MetricsService,
    private readonly decisions: DecisionService,
    private readonly decisionLog: DecisionLogWriter,
    private readonly locks: LockManager,
    private readonly sessions: SessionSerializer,
    private readonly db: DatabaseService,
    private readonly requests: RequestStats,
    @Inject(METRICS_COLLECTOR_OPTIONS) private readonly collectorOptions: MetricsCollectorOptions,
    @Optional() @Inject(WarmupService) private readonly warmup: WarmupService | null = null,
  ) {}

  onModuleInit(): void {
    this.registerHttp();
    this.registerDecisions();
    this.registerLocks();
    this.registerSessions();
    this.registerDatabase();
    this.registerCollector();
    this.registerEventLoop();
    if (this.warmup) registerMetricsWarmup(this.warmup, this.collectorOptions, this.db, HTTP_BUCKETS_SECONDS);
  }

  /** One observation per finished request, whichever way it came in. */
  private registerHttp(): void {
    this.histogram = this.prom.histogram(
      'openkore_http_request_duration_seconds',
      'HTTP request duration by method, route pattern and status code',
      ['method', 'route', 'status'],
      HTTP_BUCKETS_SECONDS,
    );
    this.httpSeries = this.collector.series(SERIES.httpRequestMs);
    this.errorSeries = this.collector.series(SERIES.httpServerErrors);
    this.prom.registerGauge('openkore_http_requests_in_flight', 'HTTP requests being handled', () => this.requests.inFlight);
    this.prom.registerGauge('openkore_uptime_seconds', 'Seconds since the engine started', () => this.requests.uptimeSeconds);

    this.requests.observe((method, route, status, ms) => this.observe(method, route, status, ms));
  }

  private observe(method: string, route: string | undefined, status: number, ms: number): void {
    // The route pattern (`/api/v1/state/:sessionId`), never the URL: ids must not become labels.
    const child = this.histogram!.labels(method, route ?? UNMATCHED_ROUTE, String(status));
    child.observe(ms / 1000);
    this.httpSeries!.record(ms);
    if (status >= 500) this.errorSeries!.record(1);
  }

  private registerDecisions(): void {
    this.prom.registerCounter(
      'openkore_decisions_total',
      'Decisions the engine made, by tier',
      () => {
        const s = this.decisions.stats();
        return [
          { labels: { tier: 'reflex' }, value: s.reflex_decisions },
          { labels: { tier: 'rule' }, value: s.rule_decisions },
          { labels: { tier: 'ml' }, value: s.ml_decisions },
          { labels: { tier: 'llm' }, value: s.llm_decisions },
        ];
      },
      { labelNames: ['tier'] },
    );
    this.prom.registerGauge('openkore_decision_plans_pending', 'Strategic-planner tasks still working', () => this.decisions.stats().pending_plans);
    this.prom.registerCounter(
      'openkore_decision_outcomes_logged_total',
      'Decision outcomes logged with POST /api/v1/metrics/log, by tier and result',
      () => {
        const rows: LabeledValue[] = [];
        for (const [tier, c] of Object.entries(this.metrics.outcomeCounts())) {
          rows.push({ labels: { tier, result: 'success' }, value: c.success }, { labels: { tier, result: 'failure' }, value: c.failure });
        }
        return rows;
      },
      { labelNames: ['tier', 'result'] },
    );
    this.prom.registerGauge(
      'openkore_decision_processing_seconds',
      'Decision processing time per tier over the sliding window (stat: mean, p50, p95, p99, max)',
      () => {
        const rows: LabeledValue[] = [];
        for (const tier of DECISION_TIERS) {
          const s = this.collector.aggregate(SERIES.decisionProcessingMs, { tier });
          if (s.count === 0) continue;
          for (const [stat, v] of [['mean', s.mean], ['p50', s.p50], ['p95', s.p95], ['p99', s.p99], ['max', s.max]] as const) {
            if (v !== null) rows.push({ labels: { tier, stat }, value: v / 1000 });
          }
        }
        return rows;
      },
      { labelNames: ['tier', 'stat'] },
    );
    this.prom.registerGauge('openkore_decision_log_pending', 'decision_log rows buffered by the decision path, not yet written', () => this.decisionLog.pending);
    this.prom.registerCounter('openkore_decision_log_dropped_total', 'decision_log rows the decision path dropped (buffer full)', () => this.decisionLog.dropped);
  }

  private registerLocks(): void {
    const perLock = (pick: (row: ReturnType<LockManager['contention']>[number]) => number) => () =>
      this.locks.contention().map((row) => ({ labels: { lock: row.lock }, value: pick(row) }));
    const opts = { labelNames: ['lock'] };
    this.prom.registerCounter('openkore_lock_acquisitions_total', 'Lock acquisitions (granted), by lock', perLock((r) => r.acquisitions), opts);
    this.prom.registerCounter('openkore_lock_contentions_total', 'Acquisitions that had to wait, by lock', perLock((r) => r.contentions), opts);
    this.prom.registerCounter('openkore_lock_timeouts_total', 'Lock waits that timed out (503 LOCK_TIMEOUT), by lock', perLock((r) => r.timeouts), opts);
    this.prom.registerCounter('openkore_lock_deadlocks_total', 'Lock waits failed to break a deadlock, by lock', perLock((r) => r.deadlocks), opts);
    const timing = (which: 'waitMs' | 'holdMs') => () => {
      const rows: LabeledValue[] = [];
      for (const row of this.locks.contention()) {
        const s = row[which];
        if (s.count === 0) continue;
        const values = { mean: s.meanMs, p99: s.p99Ms, max: s.maxMs };
        for (const stat of STATS) rows.push({ labels: { lock: row.lock, stat }, value: values[stat] / 1000 });
      }
      return rows;
    };
    const statOpts = { labelNames: ['lock', 'stat'] };
    this.prom.registerGauge('openkore_lock_wait_seconds', 'Wait for a lock (contended acquisitions), by lock (stat: mean, p99 of recent, max)', timing('waitMs'), statOpts);
    this.prom.registerGauge('openkore_lock_hold_seconds', 'Time a lock is held, by lock (stat: mean, p99 of recent, max)', timing('holdMs'), statOpts);
  }

  /** Aggregates only: a label per session would grow without bound. */
  private registerSessions(): void {
    const stats = () => this.sessions.stats();
    this.prom.registerGauge('openkore_session_turns_in_flight', 'Session turns running (holding a global slot)', () => stats().inFlight);
    this.prom.registerGauge('openkore_session_turns_waiting_for_slot', 'Requests holding their session turn, waiting for a global slot', () => stats().waitingForSlot);
    this.prom.registerGauge('openkore_sessions_active', 'Sessions with a request running or queued', () => stats().activeSessions);
    this.prom.registerGauge('openkore_session_queued_requests', 'Requests queued behind their session\'s current turn (all sessions)', () => stats().queued);
    this.prom.registerGauge('openkore_session_queue_depth_max', 'Deepest session queue', () => {
      let max = 0;
      for (const depth of Object.values(stats().queueDepth)) if (depth > max) max = depth;
      return max;
    });
    this.prom.registerCounter('openkore_session_queue_rejected_total', 'Requests refused with QUEUE_FULL (session queue at its limit)', () => stats().rejectedQueueFull);
  }

  private registerDatabase(): void {
    const c = this.db.counters;
    this.prom.registerCounter('openkore_db_commits_total', 'Committed write transactions', () => c.commits);
    this.prom.registerCounter('openkore_db_rollbacks_total', 'Rolled back write transactions', () => c.rollbacks);
    this.prom.registerCounter('openkore_db_busy_retries_total', 'Write transactions retried because another process held the write lock', () => c.busy_retries);
    this.prom.registerCounter('openkore_db_busy_failures_total', 'Write transactions that stayed busy past their bound (503)', () => c.busy_failures);
    this.prom.registerCounter('openkore_db_busy_wait_seconds_total', 'Time spent backing off from a busy database', () => c.busy_wait_ms / 1000);
    this.prom.registerCounter('openkore_db_wal_checkpoints_total', 'WAL checkpoints made off the event loop by the checkpoint worker', () => c.wal_checkpoints);
    this.prom.registerCounter('openkore_db_wal_checkpoint_errors_total', 'Failed WAL checkpoints (retried) and checkpoint worker failures', () => c.wal_checkpoint_errors);
    this.prom.registerCounter('openkore_db_serialization_retries_total', 'PostgreSQL: write transactions run again after a serialization failure or deadlock', () => c.serialization_retries);
    this.prom.registerCounter('openkore_db_pool_errors_total', 'PostgreSQL: errors of idle pool connections (replaced by the pool)', () => c.pool_errors);
  }

  /** Every delay sample into a histogram (rates and quantiles over any range), and the window's figures as a gauge. */
  private registerEventLoop(): void {
    const monitor = this.collector.loopDelay;
    const child = this.prom
      .histogram('openkore_event_loop_delay_seconds', `Event-loop delay: how late a ${monitor.resolutionMs} ms timer fired, per sample`, [], LOOP_DELAY_BUCKETS_SECONDS)
      .labels();
    monitor.onSample((ms) => child.observe(ms / 1000));
    this.prom.registerGauge(
      'openkore_event_loop_delay_window_seconds',
      'Event-loop delay over the metrics window (stat: mean, p50, p99, max)',
      () => {
        const s = monitor.stats();
        const rows: LabeledValue[] = [];
        for (const [stat, v] of [['mean', s.mean_ms], ['p50', s.p50_ms], ['p99', s.p99_ms], ['max', s.max_ms]] as const) {
          if (v !== null) rows.push({ labels: { stat }, value: v / 1000 });
        }
        return rows;
      },
      { labelNames: ['stat'] },
    );
  }

  private registerCollector(): void {
    const s = () => this.collector.stats();
    this.prom.registerCounter('openkore_metrics_recorded_total', 'Values recorded into the metrics ring', () => s().recorded_total);
    this.prom.registerCounter('openkore_metrics_ring_overwrites_total', 'Values overwritten in the ring before a flush read them', () => s().overwrites_total);
    this.prom.registerCounter('openkore_metrics_rejected_total', 'Values refused (not finite, or a malformed name)', () => s().rejected_total);
    this.prom.registerCounter('openkore_metrics_series_dropped_total', 'Values of new series refused: series table full', () => s().dropped_new_series_total);
    this.prom.registerGauge('openkore_metrics_series', 'Series (name + labels) held in memory', () => s().series);
    this.prom.registerGauge('openkore_metrics_ring_buffered', 'Values waiting in the ring for the next flush', () => s().buffered);
    this.prom.registerCounter('openkore_metrics_rollups_written_total', 'Rollup rows written to the metrics table', () => s().rollups_written_total);
    this.prom.registerGauge('openkore_metrics_rollups_pending', 'Rollup rows waiting for the database', () => s().rollups_pending);
    this.prom.registerCounter('openkore_metrics_persist_failures_total', 'Failed rollup write transactions (retried)', () => s().persist_failures_total);
  }
}
