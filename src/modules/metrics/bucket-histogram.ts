import type { Registry } from 'prom-client';

export interface HistogramChild {
  observe(value: number): void;
}

interface Series {
  readonly labels: Record<string, string>;
  /** Per bucket (not cumulative), the last one +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  readonly child: HistogramChild;
}

type LookupNode = Map<string, LookupNode | Series>;

interface PromValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram whose children are bound once: `observe` is a bucket search and three
 * additions. prom-client's own hashes the child's labels on every observation, which at a
 * farm's request rate was most of what a request paid for its metrics. Registered with a
 * prom-client Registry as a metric object (`get`/`reset`), so the exposition is prom-client's.
 * Two differences from prom-client's: a non-finite observation is ignored (prom-client throws;
 * a duration is never one), and `reset()` zeroes the series instead of dropping them, so the
 * children go on counting.
 */
export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly upperBounds: Float64Array;
  private readonly series = new Map<string, Series>();
  /** label value → … → series (the last level holds the series). */
  private readonly lookup: LookupNode = new Map();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) throw new RangeError(`Histogram ${name}: buckets must be distinct finite numbers`);
    this.upperBounds = Float64Array.from(sorted);
    registry.registerMetric(this as never);
  }

  /**
   * The child for these label values (in `labelNames` order); the same object for the same values.
   * Looked up through one Map per label value, so an observation per request builds no key string.
   */
  labels(...values: string[]): HistogramChild {
    if (values.length !== this.labelNames.length) throw new RangeError(`Histogram ${this.name} takes ${this.labelNames.length} label values`);
    // The series sits under the last value (under '' when there are no labels).
    let node: LookupNode | undefined = this.lookup;
    const last = values.length - 1;
    for (let i = 0; i < last && node; i++) node = node.get(values[i]) as LookupNode | undefined;
    const found = node?.get(last < 0 ? '' : values[last]);
    if (found) return (found as Series).child;
    return this.create(values);
  }

  private create(values: string[]): HistogramChild {
    const key = JSON.stringify(values);
    let series = this.series.get(key);
    if (!series) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]));
      const counts = new Float64Array(this.upperBounds.length + 1);
      const bounds = this.upperBounds;
      const s: Series = {
        labels,
        counts,
        sum: 0,
        count: 0,
        child: {
          observe(value: number): void {
            if (!Number.isFinite(value)) return;
            let i = 0;
            while (i < bounds.length && value > bounds[i]) i += 1;
            counts[i] += 1;
            s.sum += value;
            s.count += 1;
          },
        },
      };
      series = s;
      this.series.set(key, series);
    }
    let node = this.lookup;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]) as LookupNode | undefined;
      if (!next) node.set(values[i], (next = new Map()));
      node = next;
    }
    node.set(last < 0 ? '' : values[last], series);
    return series.child;
  }

  /** prom-client's metric interface: what the registry formats. */
  get(): { name: string; help: string; type: string; aggregator: string; values: PromValue[] } {
    const values: PromValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.upperBounds.length; i += 1) {
        cumulative += s.counts[i];
        const le = i < this.upperBounds.length ? this.upperBounds[i] : '+Inf';
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
