import type { MetricStats } from '../../common/ports/metrics-sources.port';

/**
 * Nearest-rank percentile of an ascending array: the smallest value such that at least `p`% of
 * the values are ≤ it. `p` in (0, 100]. Undefined for an empty array.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

export interface SeriesShape {
  /** Width of one window step (ms). */
  bucketMs: number;
  /** Steps in the sliding window (window = bucketMs × windowBuckets). */
  windowBuckets: number;
  /** Most recent values kept per series for percentiles (window and rollup). */
  maxSamples: number;
}

export interface WindowStats extends MetricStats {
  /** The most recent values of the window (at most maxSamples), oldest first. */
  values: Float64Array;
}

export interface Rollup extends MetricStats {
  /** Epoch ms of the first and last value of the period. */
  firstAt: number;
  lastAt: number;
  p50: number;
  p95: number;
  p99: number;
}

const INITIAL_SAMPLES = 16;
/** Bucket fields, interleaved in one array: [index, count, sum, min, max] per step. */
const B_INDEX = 0;
const B_COUNT = 1;
const B_SUM = 2;
const B_MIN = 3;
const B_MAX = 4;
const B_FIELDS = 5;

/**
 * The aggregate of one series (name + labels):
 * - lifetime count/sum/min/max;
 * - a sliding window of `windowBuckets` steps, each with exact count/sum/min/max, so window
 *   statistics are exact however many values arrive;
 * - the most recent values (a ring, grown on demand up to `maxSamples`) for percentiles.
 *   Values arrive in time order (the clock is monotonic and the ring drains in order), so the
 *   values of the window — or of a rollup period — are always the newest ones: percentiles are
 *   exact while the window holds at most `maxSamples` values, and over the newest
 *   `maxSamples` beyond that;
 * - the accumulators of the current rollup period.
 */
export class SeriesStats {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  last = NaN;
  lastAt = 0;

  private readonly buckets: Float64Array;
  private samples: Float64Array;
  private sHead = 0;
  private sLen = 0;

  private rCount = 0;
  private rSum = 0;
  private rMin = Infinity;
  private rMax = -Infinity;
  private rFirstAt = 0;

  constructor(private readonly shape: SeriesShape) {
    this.buckets = new Float64Array(shape.windowBuckets * B_FIELDS);
    // No step yet: below any real step index, so never inside a window.
    for (let i = 0; i < shape.windowBuckets; i++) this.buckets[i * B_FIELDS + B_INDEX] = -Infinity;
    this.samples = new Float64Array(Math.min(INITIAL_SAMPLES, shape.maxSamples));
  }

  /** Values are expected in non-decreasing time order; an older one counts in lifetime and rollup only. */
  add(value: number, time: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.last = value;
    this.lastAt = time;

    const index = Math.floor(time / this.shape.bucketMs);
    const at = (index % this.shape.windowBuckets) * B_FIELDS;
    const b = this.buckets;
    const held = b[at + B_INDEX];
    if (held !== index) {
      if (held > index) {
        this.addToRollup(value, time);
        return;
      }
      b[at + B_INDEX] = index;
      b[at + B_COUNT] = 0;
      b[at + B_SUM] = 0;
      b[at + B_MIN] = Infinity;
      b[at + B_MAX] = -Infinity;
    }
    b[at + B_COUNT]++;
    b[at + B_SUM] += value;
    if (value < b[at + B_MIN]) b[at + B_MIN] = value;
    if (value > b[at + B_MAX]) b[at + B_MAX] = value;

    this.addSample(value);
    this.addToRollup(value, time);
  }

  get pendingRollup(): number {
    return this.rCount;
  }

  lifetime(): MetricStats {
    return stats(this.count, this.sum, this.min, this.max);
  }

  /** Statistics over the window ending at `now` (the step holding `now` and the steps before it). */
  window(now: number): WindowStats {
    const { bucketMs, windowBuckets } = this.shape;
    const newest = Math.floor(now / bucketMs);
    const oldest = newest - windowBuckets + 1;
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    const b = this.buckets;
    for (let at = 0; at < b.length; at += B_FIELDS) {
      const index = b[at + B_INDEX];
      if (index < oldest || index > newest) continue;
      count += b[at + B_COUNT];
      sum += b[at + B_SUM];
      if (b[at + B_MIN] < min) min = b[at + B_MIN];
      if (b[at + B_MAX] > max) max = b[at + B_MAX];
    }
    return { ...stats(count, sum, min, max), values: this.newest(count) };
  }

  /** Closes the current rollup period: its statistics, or undefined when it had no value. */
  takeRollup(): Rollup | undefined {
    if (this.rCount === 0) return undefined;
    const sorted = this.newest(this.rCount).sort();
    const rollup: Rollup = {
      ...stats(this.rCount, this.rSum, this.rMin, this.rMax),
      firstAt: this.rFirstAt,
      lastAt: this.lastAt,
      p50: percentile(sorted, 50)!,
      p95: percentile(sorted, 95)!,
      p99: percentile(sorted, 99)!,
    };
    this.rCount = 0;
    this.rSum = 0;
    this.rMin = Infinity;
    this.rMax = -Infinity;
    return rollup;
  }

  /** A copy of the newest `n` kept values (fewer if fewer are kept), oldest first. */
  private newest(n: number): Float64Array {
    const k = Math.min(n, this.sLen);
    const out = new Float64Array(k);
    const cap = this.samples.length;
    let i = (this.sHead - k + cap) % cap;
    for (let j = 0; j < k; j++) {
      out[j] = this.samples[i];
      i = i + 1 === cap ? 0 : i + 1;
    }
    return out;
  }

  private addSample(value: number): void {
    let cap = this.samples.length;
    if (this.sLen === cap && cap < this.shape.maxSamples) {
      // Grow (the ring is full, so it is in order from sHead): most series stay small.
      const grown = new Float64Array(Math.min(cap * 2, this.shape.maxSamples));
      grown.set(this.samples.subarray(this.sHead), 0);
      grown.set(this.samples.subarray(0, this.sHead), cap - this.sHead);
      this.samples = grown;
      this.sHead = cap;
      cap = grown.length;
    }
    this.samples[this.sHead] = value;
    this.sHead = this.sHead + 1 === cap ? 0 : this.sHead + 1;
    if (this.sLen < cap) this.sLen++;
  }

  private addToRollup(value: number, time: number): void {
    if (this.rCount === 0) this.rFirstAt = time;
    this.rCount++;
    this.rSum += value;
    if (value < this.rMin) this.rMin = value;
    if (value > this.rMax) this.rMax = value;
  }
}

export function stats(count: number, sum: number, min: number, max: number): MetricStats {
  return count === 0 ? { count: 0, sum: 0, min: null, max: null, mean: null } : { count, sum, min, max, mean: sum / count };
}
