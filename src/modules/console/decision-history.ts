import { DECISION_TIERS, type DecisionTier } from '../decision';

/** One point of the console's decision charts. */
export interface DecisionSample {
  /** Epoch ms of the sample. */
  t: number;
  /** Decisions per second by tier since the previous sample. */
  rates: Record<DecisionTier, number>;
  /** Decision processing time (ms) over the metrics window at the time of the sample; null without decisions. */
  p50: number | null;
  p99: number | null;
}

/**
 * The last `capacity` samples of the decision counters, as rates: a fixed ring, so keeping the
 * last minutes costs the same whether or not a console is open.
 */
export class DecisionHistory {
  private readonly ring: Array<DecisionSample | undefined>;
  private next = 0;
  private count = 0;
  private prev: { t: number; counts: Record<DecisionTier, number> } | undefined;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.ring = new Array<DecisionSample | undefined>(capacity);
  }

  /** Sets the counters the first rate is measured from (no point is added). */
  baseline(t: number, counts: Readonly<Record<DecisionTier, number>>): void {
    this.prev = { t, counts: { ...counts } };
  }

  /**
   * Adds the point for `t` from the cumulative counters; undefined (and no point) for the first
   * call without a baseline, or when no time passed since the previous sample.
   */
  sample(t: number, counts: Readonly<Record<DecisionTier, number>>, latency: { p50: number | null; p99: number | null }): DecisionSample | undefined {
    const prev = this.prev;
    this.prev = { t, counts: { ...counts } };
    if (!prev || t <= prev.t) return undefined;
    const seconds = (t - prev.t) / 1000;
    const rates = {} as Record<DecisionTier, number>;
    for (const tier of DECISION_TIERS) {
      // A counter never goes back; if it did (a restart of the source), count from zero.
      const delta = counts[tier] >= prev.counts[tier] ? counts[tier] - prev.counts[tier] : counts[tier];
      rates[tier] = round2(delta / seconds);
    }
    const point: DecisionSample = { t, rates, p50: latency.p50, p99: latency.p99 };
    this.ring[this.next] = point;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    return point;
  }

  /** The points, oldest first. */
  points(): DecisionSample[] {
    const out: DecisionSample[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % this.capacity]!);
    return out;
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
