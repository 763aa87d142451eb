import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, type MetricObject, Registry } from 'prom-client';
import { yieldToLoop } from '../../common/async/wait';
import type { ExternalMetricOptions, LabeledValue, MetricReader } from '../../common/ports/metrics-sources.port';
import { BucketHistogram } from './bucket-histogram';
import { InvalidMetricError } from './metrics.errors';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Settable = Gauge<string> | Counter<string>;

/**
 * Loop time the exposition takes in one go before it lets the loop serve what waits (ms). Rendered
 * whole, a scrape of a serving engine's ~100 metrics held the loop 3–9 ms (bench/README.md
 * "The scrape"); one metric takes at most ~0.5 ms.
 */
export const EXPOSITION_SLICE_MS = 1;

/**
 * prom-client's text of one metric: `Registry#getMetricsAsString`, which its own `metrics()` is
 * built on but its typings leave out. An upgrade that dropped it fails every exposition test.
 */
interface FormatsOneMetric {
  getMetricsAsString(metric: MetricObject): Promise<string>;
}

/**
 * The engine's own prom-client Registry (never the global one: several engines in one process,
 * as in the tests, must not collide), with Node's process metrics, and the registration API the
 * other modules use for the values they keep (read at scrape time).
 */
@Injectable()
export class PromRegistry {
  private readonly logger = new Logger(PromRegistry.name);
  readonly registry = new Registry();
  private readonly failing = new Set<string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The exposition (Prometheus text format 0.0.4), the text `Registry#metrics()` renders, made a
   * metric at a time with a turn of the loop whenever a slice has taken EXPOSITION_SLICE_MS: a
   * scrape must not hold the requests of a farm behind it. Each metric is read whole (its
   * collect and its values in one go), so each is consistent in itself, a histogram's buckets,
   * sum and count included; requests served between two slices can land between two metrics,
   * as they would between two scrapes.
   */
  async exposition(): Promise<string> {
    const registry = this.registry as unknown as FormatsOneMetric;
    const parts: string[] = [];
    let sliceStart = performance.now();
    for (const metric of this.registry.getMetricsAsArray()) {
      if (performance.now() - sliceStart >= EXPOSITION_SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
      parts.push(await registry.getMetricsAsString(metric));
    }
    // As Registry#metrics() joins them in the Prometheus format.
    return `${parts.join('\n\n')}\n`;
  }

  registerGauge(name: string, help: string, read: MetricReader, options: ExternalMetricOptions = {}): void {
    const labelNames = this.check(name, help, options);
    const apply = this.apply.bind(this);
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        apply(this, name, read, (labels, value) => (labels ? this.set(labels, value) : this.set(value)));
      },
    });
  }

  registerCounter(name: string, help: string, read: MetricReader, options: ExternalMetricOptions = {}): void {
    const labelNames = this.check(name, help, options);
    const apply = this.apply.bind(this);
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        apply(this, name, read, (labels, value) => {
          if (value < 0) throw new InvalidMetricError(`Counter ${name} read a negative total (${value})`);
          if (labels) this.inc(labels, value);
          else this.inc(value);
        });
      },
    });
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: number[]): BucketHistogram {
    return new BucketHistogram(name, help, this.check(name, help, { labelNames }), buckets, this.registry);
  }

  private check(name: string, help: string, options: ExternalMetricOptions): string[] {
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) throw new InvalidMetricError(`Invalid Prometheus metric name ${JSON.stringify(name)}`);
    if (typeof help !== 'string' || help.trim() === '') throw new InvalidMetricError(`Metric ${name} needs a help text`);
    const labelNames = [...(options.labelNames ?? [])];
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new InvalidMetricError(`Invalid label name ${JSON.stringify(l)} of metric ${name}`);
    }
    if (this.registry.getSingleMetric(name)) throw new InvalidMetricError(`Metric ${name} is already registered`);
    return labelNames;
  }

  /**
   * Replaces the metric's samples with what the reader returns now. A reader that throws leaves
   * the metric without samples for this scrape (logged once) instead of failing the scrape.
   */
  private apply(metric: Settable, name: string, read: MetricReader, set: (labels: Record<string, string> | undefined, value: number) => void): void {
    metric.reset();
    try {
      const result = read();
      if (typeof result === 'number' && Number.isFinite(result)) {
        set(undefined, result);
      } else if (Array.isArray(result)) {
        for (const row of result as ReadonlyArray<LabeledValue>) {
          if (!Number.isFinite(row.value)) continue;
          const labels: Record<string, string> = {};
          for (const k in row.labels) labels[k] = String(row.labels[k]);
          set(labels, row.value);
        }
      } else {
        clearSamples(metric);
      }
      this.failing.delete(name);
    } catch (err) {
      // A reader that throws (or returns labels it did not declare) must not fail the scrape.
      if (!this.failing.has(name)) this.logger.warn({ err, metric: name }, 'metric reader failed');
      this.failing.add(name);
      metric.reset();
      clearSamples(metric);
    }
  }
}

/** An unlabelled metric keeps a 0 sample after reset(); "no value" should show no sample. */
function clearSamples(metric: Settable): void {
  (metric as unknown as { hashMap: Record<string, unknown> }).hashMap = {};
}
