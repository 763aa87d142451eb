/**
 * What other modules use of the metrics module, without importing it. The metrics module is
 * global and provides `METRICS` when it is loaded; inject it with
 * `@Optional() @Inject(METRICS) metrics?: MetricsPort` so a module also runs without it.
 *
 * - `record` / `series(...).record` feed the ring buffer: O(1), never blocks, never throws for
 *   load. Values are aggregated by the 1 s flush loop into windowed summaries and persisted as
 *   rollups to `metrics`.
 * - `registerGauge` / `registerCounter` expose a value the module already keeps (model version,
 *   inference count, PDCA phase, dropped training samples...) on `GET /metrics`; the reader is
 *   called at each scrape, so register once (at init) and keep the reader cheap and non-throwing.
 * - `summaryFor` / `aggregate` / `strategySummary` read the windowed summaries (the PDCA CHECK
 *   phase reads a strategy's outcomes with `strategySummary`).
 */
export const METRICS = Symbol('METRICS');

export type LabelValue = string | number | boolean;
export type MetricLabels = Readonly<Record<string, LabelValue>>;

/** A series bound once (name + labels resolved): the allocation-free recording path. */
export interface MetricSeriesHandle {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  record(value: number): void;
}

export interface LabeledValue {
  labels: Readonly<Record<string, LabelValue>>;
  value: number;
}

/**
 * Read at scrape time: one number (no labels), or one value per label set (declare
 * `labelNames`). `undefined`/`null` (or an empty array) leaves the metric without a sample.
 */
export type MetricReader = () => number | null | undefined | ReadonlyArray<LabeledValue>;

export interface ExternalMetricOptions {
  labelNames?: readonly string[];
}

/** Statistics over a set of values; null when there were none. */
export interface MetricStats {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  mean: number | null;
}

export interface MetricSummary extends MetricStats {
  name: string;
  /** The series' labels; for `aggregate`/`strategySummary`, the filter that was matched. */
  labels: Readonly<Record<string, string>>;
  /** count/sum/min/max/mean/percentiles cover the last `window_seconds` (sliding, 1 s steps). */
  window_seconds: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /**
   * Values the percentiles were computed from: equal to `count` unless a series had more values
   * in the window than it keeps (then the percentiles are over its most recent values).
   */
  samples: number;
  /** Since the series was created (an idle series is evicted after an hour; rollups persist). */
  lifetime: MetricStats;
  last_value: number | null;
  /** Epoch ms of the last value. */
  last_at: number | null;
}

export interface StrategySummary {
  strategy_id: string;
  window_seconds: number;
  /** One merged summary per metric name recorded with label `strategy_id`. */
  metrics: Record<string, MetricSummary>;
}

export interface MetricsPort {
  record(name: string, value: number, labels?: MetricLabels): void;
  series(name: string, labels?: MetricLabels): MetricSeriesHandle;
  registerGauge(name: string, help: string, read: MetricReader, options?: ExternalMetricOptions): void;
  /** For monotonic totals the module counts itself (the reader returns the running total). */
  registerCounter(name: string, help: string, read: MetricReader, options?: ExternalMetricOptions): void;
  /** The summary of exactly this series (name + labels), or undefined when never recorded. */
  summaryFor(name: string, labels?: MetricLabels): MetricSummary | undefined;
  /** All series of `name` whose labels include `filter`, merged. */
  aggregate(name: string, filter?: MetricLabels): MetricSummary;
  strategySummary(strategyId: string): StrategySummary;
  /**
   * The engine's event-loop delay sampler over [since, now] (epoch ms; at most its window):
   * null when the sampler is off (a collector built with `eventLoopResolutionMs: 0`, as the
   * warm-up's throwaway one is). Readiness reads it.
   */
  eventLoopDelay?(since: number): EventLoopDelayReading | null;
}

export interface EventLoopDelayReading {
  resolution_ms: number;
  samples: number;
  p99_ms: number | null;
  max_ms: number | null;
}

/**
 * Names for the values other modules register, so dashboards find them under one name.
 * `pdcaPhase` is a gauge with label `phase` (1 for the current phase, 0 for the others).
 */
export const WELL_KNOWN_METRICS = {
  modelVersion: 'openkore_ml_model_version',
  inferences: 'openkore_ml_inferences_total',
  inferenceFailures: 'openkore_ml_inference_failures_total',
  trainingBufferDropped: 'openkore_ml_training_buffer_dropped_total',
  pdcaPhase: 'openkore_pdca_phase',
  pdcaCycles: 'openkore_pdca_cycles_total',
} as const;

/**
 * Series other modules record into (internal names, read back by `GET /api/v1/metrics` and the
 * PDCA CHECK phase). The decision path should record each decision's processing time:
 * `metrics.series(RECORDED_SERIES.decisionProcessingMs, { tier })` bound once per tier, then
 * `.record(ms)` — that is what `performance.avg_response_time_ms` per tier reports.
 */
export const RECORDED_SERIES = {
  /** Decision processing time (ms), label `tier` (and `strategy_id` when known). */
  decisionProcessingMs: 'decision.processing_ms',
  /** 1 for a successful decision outcome, 0 for a failed one (the mean is the success rate), label `tier` (+ `strategy_id`). */
  decisionSuccess: 'decision.success',
} as const;

/** The label that ties a recorded value to a PDCA strategy. */
export const STRATEGY_LABEL = 'strategy_id';
