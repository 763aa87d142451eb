import { Global, Module } from '@nestjs/common';
import { METRICS, type MetricsPort } from '../../common/ports/metrics-sources.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { DecisionModule } from '../decision';
import { HealthModule } from '../health';
import { DecisionOutcomeWriter } from './decision-outcome.writer';
import { EngineMetricsExporter } from './engine-metrics.exporter';
import { MetricsAuthGuard } from './metrics-auth.guard';
import { METRICS_COLLECTOR_OPTIONS, MetricsCollector, type MetricsCollectorOptions } from './metrics-collector.service';
import { MetricsController, PrometheusController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { MetricRollupRetention } from './metric-rollup.retention';
import { PromRegistry } from './prom-registry';

export function collectorOptions(config: AppConfig): MetricsCollectorOptions {
  return {
    ringCapacity: config.metricsRingCapacity,
    flushIntervalMs: config.metricsFlushIntervalMs,
    windowSeconds: config.metricsWindowSeconds,
    rollupIntervalMs: config.metricsRollupIntervalMs,
    maxSeries: config.metricsMaxSeries,
  };
}

/** The port other modules inject (`@Optional() @Inject(METRICS)`): recording and summaries from the collector, registration on the Prometheus registry. */
export function createMetricsPort(collector: MetricsCollector, prom: PromRegistry): MetricsPort {
  return {
    record: (name, value, labels) => collector.record(name, value, labels),
    series: (name, labels) => collector.series(name, labels),
    registerGauge: (name, help, read, options) => prom.registerGauge(name, help, read, options),
    registerCounter: (name, help, read, options) => prom.registerCounter(name, help, read, options),
    summaryFor: (name, labels) => collector.summaryFor(name, labels),
    aggregate: (name, filter) => collector.aggregate(name, filter),
    strategySummary: (strategyId) => collector.strategySummary(strategyId),
    eventLoopDelay: (since) => collector.eventLoopDelay(since),
  };
}

/**
 * Metrics (docs/architecture.md §8.2, §15): the collector (ring buffer, 1 s flush loop, windowed summaries,
 * rollups to `metrics`), `GET /api/v1/metrics`, `POST /api/v1/metrics/log` and the Prometheus
 * exposition at `GET /metrics`. Global, so any module can inject `METRICS` without importing it
 * (and without an import cycle: the port's providers depend on nothing of the other modules).
 */
@Global()
@Module({
  imports: [DecisionModule, HealthModule],
  controllers: [MetricsController, PrometheusController],
  providers: [
    { provide: METRICS_COLLECTOR_OPTIONS, useFactory: collectorOptions, inject: [APP_CONFIG] },
    MetricsCollector,
    PromRegistry,
    DecisionOutcomeWriter,
    MetricsService,
    EngineMetricsExporter,
    MetricsAuthGuard,
    MetricRollupRetention,
    { provide: METRICS, useFactory: createMetricsPort, inject: [MetricsCollector, PromRegistry] },
  ],
  exports: [METRICS, MetricsCollector, PromRegistry],
})
export class MetricsModule {}
