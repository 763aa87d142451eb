import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { PeriodicJobs } from '../../common/scheduling';
import { detached, runInTask } from '../../common/concurrency';
import { yieldToLoop } from '../../common/async/wait';
import { DatabaseService } from '../../common/database/database.service';
import type { MetricLabels, MetricSeriesHandle, MetricSummary, StrategySummary } from '../../common/ports/metrics-sources.port';
import { STRATEGY_LABEL } from '../../common/ports/metrics-sources.port';
import { MetricsAggregator, type SeriesEntry } from './aggregator';
import { DEFAULT_LOOP_DELAY_RESOLUTION_MS, EventLoopDelayMonitor } from '../../common/runtime/event-loop-delay';
import { InvalidMetricError } from './metrics.errors';
import { MetricRingBuffer } from './ring-buffer';

export interface MetricsCollectorOptions {
  /** Ring entries (rounded up to a power of two). */
  ringCapacity: number;
  /** Drain + aggregate period; 0 disables the loop (tests drive `flush()` themselves). */
  flushIntervalMs: number;
  windowSeconds: number;
  /** A rollup row per active series is closed this often and persisted to `metrics`. */
  rollupIntervalMs: number;
  maxSeries: number;
  /** Values kept per series for percentiles. */
  maxSamples?: number;
  /** Idle series are forgotten after this long. */
  seriesIdleMs?: number;
  /** Epoch-ms clock for record timestamps; must never go backwards (default: monotonic). */
  now?: () => number;
  /** Sampling period of the event-loop delay monitor (ms, default DEFAULT_LOOP_DELAY_RESOLUTION_MS); 0: not sampled (tests feed it). */
  eventLoopResolutionMs?: number;
}

export const METRICS_COLLECTOR_OPTIONS = Symbol('METRICS_COLLECTOR_OPTIONS');

export interface CollectorStats {
  ring_capacity: number;
  /** Values waiting in the ring for the next flush. */
  buffered: number;
  recorded_total: number;
  /** Values overwritten in the ring before a flush read them (lost to the summaries). */
  overwrites_total: number;
  /** Values refused: not a finite number, or a malformed name. */
  rejected_total: number;
  series: number;
  series_limit: number;
  /** Values of new series refused because the series table was full. */
  dropped_new_series_total: number;
  flushes_total: number;
  last_flush_ms: number;
  rollups_written_total: number;
  rollups_pending: number;
  rollups_dropped_total: number;
  persist_failures_total: number;
  window_seconds: number;
}

interface RollupRow {
  name: string;
  labels: string;
  strategy_id: string | null;
  period_start: number;
  period_end: number;
  sample_count: number;
  value_sum: number;
  value_min: number;
  value_max: number;
  p50: number;
  p95: number;
  p99: number;
  created_at: number;
}

const DEFAULT_MAX_SAMPLES = 2048;
const DEFAULT_IDLE_MS = 3_600_000;
/** Rollup rows per transaction: ~5 µs each (bench/README.md), ~0.5 ms of loop time a slice. */
export const ROWS_PER_TRANSACTION = 100;
/** Rollups waiting for the database (it was unavailable); beyond this the oldest are dropped. */
const MAX_PENDING_ROWS = 100_000;
/** The periodic job draining the ring into the windows and writing due rollups. */
export const METRICS_FLUSH_JOB = 'metrics.flush';
const FLUSH_INTERVAL_NAME = METRICS_FLUSH_JOB;

/** Series the flush loop samples itself. */
export const PROCESS_SERIES = {
  cpuPercent: 'process.cpu_percent',
  eventLoopLagMs: 'process.event_loop_lag_ms',
} as const;

const ORIGIN = performance.timeOrigin;
/** A monotonic epoch-ms clock: window steps never see time go backwards (wall-clock jumps). */
export const monotonicNow = (): number => ORIGIN + performance.now();

/**
 * The metrics collector of docs/architecture.md §8.2. `record()` only writes to a fixed-capacity ring (no
 * lock, no wait, no allocation beyond the label key). The flush loop — every second, under
 * the METRICS lock, outside any request — drains the ring into per-series summaries (sliding
 * window: count, sum, min, max, mean, p50/p95/p99), closes a rollup period every
 * `rollupIntervalMs` and writes the rollups to `metrics` in batches through the DATABASE
 * write helper. Readers (`summaryFor`, `aggregate`, `strategySummary`) drain the ring first,
 * so what they report includes every value recorded before the call.
 */
@Injectable()
export class MetricsCollector implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(MetricsCollector.name);
  private readonly ring: MetricRingBuffer;
  readonly aggregator: MetricsAggregator;
  private readonly now: () => number;
  private readonly drainSink = (id: number, value: number, time: number) => this.aggregator.ingest(id, value, time);
  /** Past half full, a drain is scheduled for the next turn of the event loop (see `pushed`). */
  private readonly earlyDrainAt: number;
  private earlyDrainScheduled = false;
  private readonly earlyDrain = () => {
    this.earlyDrainScheduled = false;
    this.drain();
  };
  /** Runs the flush outside whatever async context (request, held locks) called it. */
  private readonly runDetached: <T>(fn: () => T) => T;
  /** Event-loop delay: per-second histograms over the window, cumulative for Prometheus. */
  readonly loopDelay: EventLoopDelayMonitor;
  private readonly sampleLoopDelay: boolean;
  private cpuMark = process.cpuUsage();
  private cpuMarkAt = performance.now();
  private readonly cpuSeries: MetricSeriesHandle;
  private readonly lagSeries: MetricSeriesHandle;

  private pendingRows: RollupRow[] = [];
  /** The write loop running now; resolves false when a batch failed (its rows wait for the next flush). */
  private persisting: Promise<boolean> | undefined;
  private periodStart = Date.now();
  private nextRollupAt: number;
  private closed = false;
  private rejected = 0;
  private readonly warnedNames = new Set<string>();
  private flushes = 0;
  private lastFlushMs = 0;
  private rollupsWritten = 0;
  private rollupsDropped = 0;
  private persistFailures = 0;

  constructor(
    @Inject(METRICS_COLLECTOR_OPTIONS) private readonly options: MetricsCollectorOptions,
    private readonly db: DatabaseService,
    @Optional() private readonly jobs?: PeriodicJobs,
  ) {
    this.ring = new MetricRingBuffer(options.ringCapacity);
    this.earlyDrainAt = this.ring.capacity >>> 1;
    this.aggregator = new MetricsAggregator({
      bucketMs: 1000,
      windowBuckets: options.windowSeconds,
      maxSamples: options.maxSamples ?? DEFAULT_MAX_SAMPLES,
      maxSeries: options.maxSeries,
      idleMs: options.seriesIdleMs ?? DEFAULT_IDLE_MS,
    });
    this.now = options.now ?? monotonicNow;
    const resolution = options.eventLoopResolutionMs ?? DEFAULT_LOOP_DELAY_RESOLUTION_MS;
    this.sampleLoopDelay = resolution > 0;
    this.loopDelay = new EventLoopDelayMonitor({ resolutionMs: resolution > 0 ? resolution : DEFAULT_LOOP_DELAY_RESOLUTION_MS, windowSeconds: options.windowSeconds });
    this.nextRollupAt = this.now() + options.rollupIntervalMs;
    this.runDetached = <T>(fn: () => T): T => detached(() => runInTask('metrics.flush', fn));
    this.cpuSeries = this.series(PROCESS_SERIES.cpuPercent);
    this.lagSeries = this.series(PROCESS_SERIES.eventLoopLagMs);
  }

  onModuleInit(): void {
    if (this.sampleLoopDelay) this.loopDelay.start(this.jobs);
    // Without the app's jobs (a collector built by hand) nothing flushes on a timer.
    this.jobs?.register(FLUSH_INTERVAL_NAME, {
      intervalMs: this.options.flushIntervalMs,
      run: () => this.flush(),
      onError: (err) => this.logger.error({ err }, 'metrics flush failed'),
    });
  }

  /** The engine listens: the event-loop delay counts from now (EventLoopDelayMonitor.restart). */
  markServing(): void {
    this.loopDelay.restart();
  }

  /** The sampler's reading since `since` (epoch ms); null when it does not sample. */
  eventLoopDelay(since: number): { resolution_ms: number; samples: number; p99_ms: number | null; max_ms: number | null } | null {
    if (!this.sampleLoopDelay) return null;
    const s = this.loopDelay.stats(since);
    return { resolution_ms: s.resolution_ms, samples: s.samples, p99_ms: s.p99_ms, max_ms: s.max_ms };
  }

  /** Stops the loop, then one last flush closes the current rollup period and persists it. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Stopped first, and the flush it may be running awaited: the final flush below comes after it.
    await this.jobs?.stop(FLUSH_INTERVAL_NAME);
    try {
      await this.flush({ closePeriod: true });
    } catch (err) {
      this.logger.error({ err }, 'final metrics flush failed');
    }
    this.loopDelay.stop();
  }

  /**
   * O(1), never waits, never throws: a non-finite value or a malformed name is counted (and
   * the name logged once), a new series past the series limit is counted.
   */
  record(name: string, value: number, labels?: MetricLabels): void {
    if (!Number.isFinite(value)) {
      this.rejected++;
      return;
    }
    let entry: SeriesEntry | undefined;
    try {
      entry = this.aggregator.resolve(name, labels);
    } catch (err) {
      this.reject(name, err);
      return;
    }
    if (entry !== undefined) {
      this.ring.push(entry.id, value, this.now());
      this.pushed();
    }
  }

  /**
   * A burst that fills half the ring before the next flush gets a drain as soon as the event
   * loop turns (aggregation only, synchronous): the ring then overwrites only when more than
   * its capacity is recorded within one synchronous run.
   */
  private pushed(): void {
    if (this.ring.size >= this.earlyDrainAt && !this.earlyDrainScheduled) {
      this.earlyDrainScheduled = true;
      setImmediate(this.earlyDrain);
    }
  }

  /**
   * Binds name + labels once; `handle.record(v)` is then a finiteness check and three typed-array
   * stores. Throws InvalidMetricError for a malformed name (at bind time, not per value).
   */
  series(name: string, labels?: MetricLabels): MetricSeriesHandle {
    const entry = this.aggregator.resolve(name, labels);
    if (entry) entry.pinned = true;
    const ring = this.ring;
    const now = this.now;
    const reject = () => this.rejected++;
    const dropped = () => this.aggregator.droppedNewSeries++;
    const record = (value: number): void => {
      if (!Number.isFinite(value)) {
        reject();
        return;
      }
      ring.push(entry!.id, value, now());
      this.pushed();
    };
    return {
      name,
      labels: entry?.labels ?? {},
      record: entry ? record : (value: number) => (Number.isFinite(value) ? dropped() : reject()),
    };
  }

  /** Moves every value waiting in the ring into the summaries (synchronous). */
  drain(): number {
    return this.ring.drain(this.drainSink);
  }

  summaryFor(name: string, labels?: MetricLabels): MetricSummary | undefined {
    this.drain();
    return this.aggregator.summaryFor(name, labels, this.now());
  }

  aggregate(name: string, filter?: MetricLabels): MetricSummary {
    this.drain();
    return this.aggregator.aggregate(name, filter, this.now());
  }

  /** What the PDCA CHECK phase reads: every metric recorded with `strategy_id` = this strategy. */
  strategySummary(strategyId: string): StrategySummary {
    this.drain();
    return this.aggregator.strategySummary(strategyId, this.now());
  }

  stats(): CollectorStats {
    return {
      ring_capacity: this.ring.capacity,
      buffered: this.ring.size,
      recorded_total: this.ring.total,
      overwrites_total: this.ring.overwrites,
      rejected_total: this.rejected,
      series: this.aggregator.size,
      series_limit: this.options.maxSeries,
      dropped_new_series_total: this.aggregator.droppedNewSeries,
      flushes_total: this.flushes,
      last_flush_ms: this.lastFlushMs,
      rollups_written_total: this.rollupsWritten,
      rollups_pending: this.pendingRows.length,
      rollups_dropped_total: this.rollupsDropped,
      persist_failures_total: this.persistFailures,
      window_seconds: this.aggregator.windowSeconds,
    };
  }

  /**
   * One turn of the loop: drain and aggregate; sample CPU and event-loop lag; when the rollup
   * period is over (or `closePeriod`), close it; persist the rollups waiting. A persist still
   * running from the previous turn is joined, not doubled.
   */
  flush(options: { closePeriod?: boolean } = {}): Promise<void> {
    return this.runDetached(() => {
      const started = performance.now();
      this.sampleProcess();
      this.drain();
      const now = this.now();
      if (options.closePeriod || now >= this.nextRollupAt) {
        this.closePeriod();
        this.nextRollupAt = now + this.options.rollupIntervalMs;
        this.aggregator.evictIdle(now);
      }
      this.flushes++;
      this.lastFlushMs = Math.round((performance.now() - started) * 1000) / 1000;
      return this.persist();
    });
  }

  private closePeriod(): void {
    const end = Date.now();
    const start = this.periodStart;
    this.periodStart = end;
    for (const { entry, rollup } of this.aggregator.takeRollups()) {
      this.pendingRows.push({
        name: entry.name,
        labels: JSON.stringify(entry.labels),
        strategy_id: entry.labels[STRATEGY_LABEL] ?? null,
        period_start: start,
        period_end: end,
        sample_count: rollup.count,
        value_sum: rollup.sum,
        value_min: rollup.min!,
        value_max: rollup.max!,
        p50: rollup.p50,
        p95: rollup.p95,
        p99: rollup.p99,
        created_at: end,
      });
    }
    const excess = this.pendingRows.length - MAX_PENDING_ROWS;
    if (excess > 0) {
      this.pendingRows.splice(0, excess);
      this.rollupsDropped += excess;
      this.logger.warn({ dropped: excess }, 'metrics rollups dropped: the database has been unavailable too long');
    }
  }

  /**
   * Resolves once every row pending at the call is written (or a write failed). One write loop at
   * a time: a caller arriving while one runs waits for it, then starts another if rows remain
   * (rows queued just as the running loop finished are not left behind).
   */
  private async persist(): Promise<void> {
    for (;;) {
      if (this.persisting) {
        if (!(await this.persisting)) return;
        continue;
      }
      if (this.pendingRows.length === 0) return;
      // The one write loop (what stands for the METRICS level here: docs/architecture.md).
      this.persisting = this.writeRows().finally(() => (this.persisting = undefined));
    }
  }

  /**
   * Slices of rows, one write transaction each with a turn of the event loop between; a failed
   * slice goes back in front for the next flush. (Expired rollups are the storage module's prune job's.)
   */
  private async writeRows(): Promise<boolean> {
    // While writes fail for lack of space, rollups wait (bounded by MAX_PENDING_ROWS) instead of failing every flush.
    if (this.db.storage.deferBackground()) return false;
    let wrote = false;
    while (this.pendingRows.length > 0) {
      if (wrote) await yieldToLoop();
      const batch = this.pendingRows.splice(0, ROWS_PER_TRANSACTION);
      try {
        await this.db.write(
          async (tx) => {
            for (const r of batch) {
              await tx.run(
                `INSERT INTO metrics (name, labels, strategy_id, period_start, period_end, sample_count, value_sum, value_min, value_max, p50, p95, p99, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
                [r.name, r.labels, r.strategy_id, r.period_start, r.period_end, r.sample_count, r.value_sum, r.value_min, r.value_max, r.p50, r.p95, r.p99, r.created_at],
              );
            }
          },
          { label: 'metrics.rollup' },
        );
        this.rollupsWritten += batch.length;
        wrote = true;
      } catch (err) {
        this.pendingRows = batch.concat(this.pendingRows);
        this.persistFailures++;
        this.logger.error({ err, rows: batch.length }, 'metrics rollup write failed; retrying at the next flush');
        return false;
      }
    }
    return true;
  }

  private sampleProcess(): void {
    const at = performance.now();
    const elapsedUs = (at - this.cpuMarkAt) * 1000;
    if (elapsedUs >= 100_000) {
      const usage = process.cpuUsage(this.cpuMark);
      this.cpuSeries.record(((usage.user + usage.system) / elapsedUs) * 100);
      this.cpuMark = process.cpuUsage();
      this.cpuMarkAt = at;
    }
    const step = this.loopDelay.takeInterval();
    if (step.p99_ms !== null) this.lagSeries.record(step.p99_ms);
  }

  private reject(name: string, err: unknown): void {
    this.rejected++;
    if (!(err instanceof InvalidMetricError)) throw err;
    const key = String(name).slice(0, 128);
    if (this.warnedNames.size < 100 && !this.warnedNames.has(key)) {
      this.warnedNames.add(key);
      this.logger.warn({ metric: key, reason: err.message }, 'metric value refused');
    }
  }
}
