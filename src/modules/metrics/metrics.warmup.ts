import { Registry } from 'prom-client';
import type { DatabaseService } from '../../common/database/database.service';
import type { MetricsPort } from '../../common/ports/metrics-sources.port';
import type { WarmupService } from '../health';
import { BucketHistogram } from './bucket-histogram';
import { MetricsCollector, type MetricsCollectorOptions } from './metrics-collector.service';

/**
 * A metrics port over a collector of its own: the recording code the hot path runs (bound
 * handles, the ring, the drain), feeding summaries nobody reads and a Prometheus registry nobody
 * scrapes. It never flushes on a timer and never persists (no rollup period closes).
 */
function throwawayPort(options: MetricsCollectorOptions, db: DatabaseService): { port: MetricsPort; collector: MetricsCollector } {
  const collector = new MetricsCollector({ ...options, flushIntervalMs: 0, rollupIntervalMs: 24 * 3_600_000, eventLoopResolutionMs: 0 }, db);
  const port: MetricsPort = {
    record: (name, value, labels) => collector.record(name, value, labels),
    series: (name, labels) => collector.series(name, labels),
    registerGauge: () => undefined,
    registerCounter: () => undefined,
    summaryFor: (name, labels) => collector.summaryFor(name, labels),
    aggregate: (name, filter) => collector.aggregate(name, filter),
    strategySummary: (id) => collector.strategySummary(id),
  };
  return { port, collector };
}

/** Gives the warmers throwaway metrics, and warms what every request records (its HTTP histogram, the ring's drain). */
export function registerMetricsWarmup(warmup: WarmupService, options: MetricsCollectorOptions, db: DatabaseService, httpBuckets: number[]): void {
  warmup.useMetrics(() => throwawayPort(options, db).port);
  warmup.register('metrics', async ({ rounds }) => {
    const { port, collector } = throwawayPort(options, db);
    const child = new BucketHistogram('warmup_http_seconds', 'warm-up only', ['method', 'route', 'status'], httpBuckets, new Registry()).labels('POST', '/api/v1/decide', '200');
    const series = port.series('warmup.request_ms');
    for (let i = 0; i < rounds; i++) {
      const ms = (i % 97) / 10;
      child.observe(ms / 1000);
      series.record(ms);
      if (i % 256 === 255) collector.drain();
    }
    await collector.flush();
    collector.aggregate('warmup.request_ms');
  });
}
