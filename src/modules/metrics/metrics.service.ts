import { Injectable } from '@nestjs/common';
import { type StorageStatus, StorageGuard } from '../../common/database/storage-guard';
import { RequestStats } from '../../common/http/request-stats';
import type { MetricSeriesHandle, MetricSummary } from '../../common/ports/metrics-sources.port';
import { RECORDED_SERIES, STRATEGY_LABEL } from '../../common/ports/metrics-sources.port';
import { type DecisionTier, DECISION_TIERS } from '../decision';
import { DecisionService, type DecisionStats } from '../decision';
import { DecisionOutcomeWriter } from './decision-outcome.writer';
import type { LoopDelayStats } from '../../common/runtime/event-loop-delay';
import type { MetricsLogDto } from './dto/metrics.dto';
import { type CollectorStats, MetricsCollector, monotonicNow, PROCESS_SERIES } from './metrics-collector.service';

/** Names of the series this module records (internal names; see the Prometheus names in the exporter). */
export const SERIES = {
  ...RECORDED_SERIES,
  /** Every HTTP response's duration (ms). */
  httpRequestMs: 'http.request_ms',
  /** 1 per 5xx response. */
  httpServerErrors: 'http.server_errors',
  ...PROCESS_SERIES,
} as const;

export interface OutcomeCounts {
  logged: number;
  success: number;
  failure: number;
  success_rate: number | null;
}

export interface TierTiming {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface MetricsReport {
  decision_stats: DecisionStats;
  decision_outcomes: OutcomeCounts & { by_tier: Record<DecisionTier, OutcomeCounts> };
  performance: {
    window_seconds: number;
    /** Mean decision processing time per tier since start (engine decisions and logged outcomes), ms. */
    avg_response_time_ms: Record<DecisionTier, number | null>;
    /** The same over the sliding window, with percentiles. */
    response_time_window_ms: Record<DecisionTier, TierTiming>;
    requests_per_second: number;
    /** 5xx responses / responses, over the window. */
    error_rate: number;
    http_avg_response_time_ms: number | null;
    http_p95_response_time_ms: number | null;
    requests_total: number;
    errors_total: number;
    in_flight: number;
  };
  resource_usage: {
    cpu_percent: number | null;
    cpu_percent_avg: number | null;
    memory_rss_mb: number;
    heap_used_mb: number;
    heap_total_mb: number;
    external_mb: number;
    /** p99 of the event-loop delay over the last flush interval (ms). */
    event_loop_lag_ms: number | null;
    /** The longest event-loop delay over the window (ms). */
    event_loop_lag_max_ms: number | null;
    /** The event-loop delay over the window: samples, mean, p50, p99, max (ms). */
    event_loop_delay: LoopDelayStats;
  };
  uptime_seconds: number;
  collector: CollectorStats;
  /** Free space of DATA_DIR, database and WAL sizes, shedding and out-of-space failures. */
  storage: StorageStatus;
}

const MB = 1024 * 1024;

/** `GET /api/v1/metrics` and `POST /api/v1/metrics/log`. */
@Injectable()
export class MetricsService {
  private readonly outcomes = new Map<DecisionTier, { success: number; failure: number }>(DECISION_TIERS.map((t) => [t, { success: 0, failure: 0 }]));
  private readonly timing = new Map<DecisionTier, MetricSeriesHandle>();
  private readonly success = new Map<DecisionTier, MetricSeriesHandle>();
  private readonly startedAt = monotonicNow();

  constructor(
    private readonly collector: MetricsCollector,
    private readonly writer: DecisionOutcomeWriter,
    private readonly decisions: DecisionService,
    private readonly requests: RequestStats,
    private readonly storage: StorageGuard,
  ) {
    // Health's event_loop_lag_ms reads the one sampler the engine runs.
    requests.useLoopDelay(() => collector.loopDelay.stats().p99_ms);
    for (const tier of DECISION_TIERS) {
      this.timing.set(tier, collector.series(SERIES.decisionProcessingMs, { tier }));
      this.success.set(tier, collector.series(SERIES.decisionSuccess, { tier }));
    }
  }

  /**
   * Writes the outcome to decision_log (resolves once committed, with the row id), then counts it
   * in the summaries: a log is counted exactly when it is acknowledged.
   */
  async log(dto: MetricsLogDto): Promise<{ log_id: number }> {
    const tier = dto.decision_tier;
    const logId = await this.writer.append({
      session_id: dto.session_id,
      decision_tier: tier,
      action_type: dto.action_type,
      success: dto.success,
      outcome: dto.outcome ?? null,
      processing_time_ms: dto.processing_time_ms,
      created_at: Date.now(),
    });
    const counts = this.outcomes.get(tier)!;
    if (dto.success) counts.success++;
    else counts.failure++;
    if (dto.strategy_id === undefined) {
      this.timing.get(tier)!.record(dto.processing_time_ms);
      this.success.get(tier)!.record(dto.success ? 1 : 0);
    } else {
      const labels = { tier, [STRATEGY_LABEL]: dto.strategy_id };
      this.collector.record(SERIES.decisionProcessingMs, dto.processing_time_ms, labels);
      this.collector.record(SERIES.decisionSuccess, dto.success ? 1 : 0, labels);
    }
    return { log_id: logId };
  }

  /** The event-loop delay over the window, or from `since` (epoch ms) when that is later. */
  eventLoopDelay(since?: number): LoopDelayStats {
    return this.collector.loopDelay.stats(since);
  }

  outcomeCounts(): Record<DecisionTier, { success: number; failure: number }> {
    return Object.fromEntries(DECISION_TIERS.map((t) => [t, { ...this.outcomes.get(t)! }])) as Record<DecisionTier, { success: number; failure: number }>;
  }

  report(): MetricsReport {
    const byTier = {} as Record<DecisionTier, OutcomeCounts>;
    let success = 0;
    let failure = 0;
    const avg = {} as Record<DecisionTier, number | null>;
    const window = {} as Record<DecisionTier, TierTiming>;
    for (const tier of DECISION_TIERS) {
      const c = this.outcomes.get(tier)!;
      success += c.success;
      failure += c.failure;
      byTier[tier] = counts(c.success, c.failure);
      const s = this.collector.aggregate(SERIES.decisionProcessingMs, { tier });
      avg[tier] = round(s.lifetime.mean);
      window[tier] = timing(s);
    }
    const http = this.collector.aggregate(SERIES.httpRequestMs);
    const errors = this.collector.aggregate(SERIES.httpServerErrors);
    const cpu = this.collector.summaryFor(SERIES.cpuPercent);
    const lag = this.collector.summaryFor(SERIES.eventLoopLagMs);
    const loopDelay = this.collector.loopDelay.stats();
    const spanSeconds = Math.max(1, Math.min(http.window_seconds, (monotonicNow() - this.startedAt) / 1000));
    const mem = process.memoryUsage();
    const req = this.requests.snapshot();
    return {
      decision_stats: this.decisions.stats(),
      decision_outcomes: { ...counts(success, failure), by_tier: byTier },
      performance: {
        window_seconds: http.window_seconds,
        avg_response_time_ms: avg,
        response_time_window_ms: window,
        requests_per_second: round(http.count / spanSeconds) ?? 0,
        error_rate: http.count === 0 ? 0 : round(errors.count / http.count)!,
        http_avg_response_time_ms: round(http.mean),
        http_p95_response_time_ms: round(http.p95),
        requests_total: req.requests_total,
        errors_total: req.errors_total,
        in_flight: req.in_flight,
      },
      resource_usage: {
        cpu_percent: round(cpu?.last_value ?? null),
        cpu_percent_avg: round(cpu?.mean ?? null),
        memory_rss_mb: round(mem.rss / MB)!,
        heap_used_mb: round(mem.heapUsed / MB)!,
        heap_total_mb: round(mem.heapTotal / MB)!,
        external_mb: round(mem.external / MB)!,
        event_loop_lag_ms: round(lag?.last_value ?? null),
        event_loop_lag_max_ms: loopDelay.max_ms,
        event_loop_delay: loopDelay,
      },
      uptime_seconds: this.requests.uptimeSeconds,
      collector: this.collector.stats(),
      storage: this.storage.status(),
    };
  }
}

function counts(success: number, failure: number): OutcomeCounts {
  const logged = success + failure;
  return { logged, success, failure, success_rate: logged === 0 ? null : round(success / logged) };
}

function timing(s: MetricSummary): TierTiming {
  return { count: s.count, mean: round(s.mean), p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max) };
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}
