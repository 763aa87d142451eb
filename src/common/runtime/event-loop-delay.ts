/**
 * Event-loop delay: how late a periodic timer fires, i.e. how long anything that became ready
 * (a request, a timer) waited for the loop to be free. Node's monitorEventLoopDelay does not
 * hand out its samples and records the whole interval (resolution included: at 20 ms it
 * reported ≥ 20 ms on an idle loop), so the engine samples itself: an interval timer measures
 * its own lateness and every sample goes into per-second histograms (the sliding window) and a
 * cumulative one (Prometheus).
 */

import { PeriodicJobs } from '../scheduling';

/** The sampler's periodic job (every `resolutionMs`). */
export const EVENT_LOOP_SAMPLER_JOB = 'metrics.event-loop-sampler';

/** 2 ms: a block longer than that is seen whole (an idle engine with the sampler used 1.5–2% of a core). */
export const DEFAULT_LOOP_DELAY_RESOLUTION_MS = 2;

/** Histogram buckets: 8 per octave from 0.01 ms (≤ 9% relative error), 22 octaves (~42 s). */
const SUB_BUCKETS = 8;
const OCTAVES = 22;
const BUCKETS = SUB_BUCKETS * OCTAVES;
const FLOOR_MS = 0.01;
const LOG2_FLOOR = Math.log2(FLOOR_MS);
/** Slots of the sliding window; a longer window gets wider slots. */
const MAX_SLOTS = 600;

/** The upper bound (ms) of bucket `i`. */
function upperBound(i: number): number {
  return FLOOR_MS * 2 ** (i / SUB_BUCKETS);
}

function bucketOf(ms: number): number {
  if (!(ms > FLOOR_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil((Math.log2(ms) - LOG2_FLOOR) * SUB_BUCKETS));
}

/** Delays in log buckets, with the exact count, sum and max. */
export class DelayHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  record(ms: number): void {
    this.counts[bucketOf(ms)] += 1;
    this.count += 1;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  add(other: DelayHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  clear(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /** Nearest rank, as the upper bound of the bucket holding it (never above the exact max); null when empty. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(upperBound(i), this.max);
    }
    return this.max;
  }
}

export interface LoopDelayStats {
  /** Sampling period of the timer (ms): delays shorter than it are seen only in part. */
  resolution_ms: number;
  window_seconds: number;
  /** Start of what these figures cover (epoch ms, a slot boundary). */
  since: number;
  samples: number;
  mean_ms: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface EventLoopDelayOptions {
  /** Sampling period (ms). */
  resolutionMs: number;
  windowSeconds: number;
  /** Epoch-ms clock (slots); default Date.now. */
  now?: () => number;
}

interface Slot {
  start: number;
  readonly hist: DelayHistogram;
}

export class EventLoopDelayMonitor {
  readonly resolutionMs: number;
  readonly windowSeconds: number;
  /** Every sample since start (Prometheus). */
  readonly total = new DelayHistogram();
  /** Samples since the last `takeInterval()`. */
  private readonly interval = new DelayHistogram();
  private readonly slots: Slot[];
  private readonly slotMs: number;
  private readonly now: () => number;
  private readonly listeners: Array<(ms: number) => void> = [];
  private job: { jobs: PeriodicJobs; name: string } | undefined;
  private last = 0;
  private intervalSince: number;

  constructor(options: EventLoopDelayOptions) {
    if (!(options.resolutionMs > 0)) throw new RangeError('resolutionMs must be positive');
    this.resolutionMs = options.resolutionMs;
    this.windowSeconds = options.windowSeconds;
    this.now = options.now ?? Date.now;
    this.slotMs = 1000 * Math.max(1, Math.ceil(options.windowSeconds / MAX_SLOTS));
    // One more than the window: the slot being filled now is partial.
    const count = Math.ceil((options.windowSeconds * 1000) / this.slotMs) + 1;
    this.slots = Array.from({ length: count }, () => ({ start: -Infinity, hist: new DelayHistogram() }));
    this.intervalSince = this.now();
  }

  /** Starts sampling as a periodic job (unref'd: never what keeps the process alive). */
  start(jobs: PeriodicJobs = PeriodicJobs.standalone(), name: string = EVENT_LOOP_SAMPLER_JOB): void {
    if (this.job) return;
    this.job = { jobs, name };
    this.last = performance.now();
    jobs.register(name, { intervalMs: this.resolutionMs, run: this.sample });
  }

  stop(): void {
    if (this.job) void this.job.jobs.stop(this.job.name);
    this.job = undefined;
  }

  /**
   * Forgets every sample so far and measures from now on. The engine calls it once it listens:
   * the boot's own long synchronous steps (warm-ups, the collections that end it) delay no
   * request, and a sample late because of them would otherwise land in the serving engine's
   * first second.
   */
  restart(): void {
    this.last = performance.now();
    for (const slot of this.slots) {
      slot.start = -Infinity;
      slot.hist.clear();
    }
    this.interval.clear();
    this.total.clear();
    this.intervalSince = this.now();
  }

  private readonly sample = (): void => {
    const t = performance.now();
    // Node schedules the next run `resolution` after this one began: lateness is the delay.
    this.record(Math.max(0, t - this.last - this.resolutionMs));
    this.last = t;
  };

  /** Called with every sample (ms). */
  onSample(listener: (ms: number) => void): void {
    this.listeners.push(listener);
  }

  /** One sample of delay (ms), measured now. */
  record(ms: number): void {
    const at = this.now();
    const start = Math.floor(at / this.slotMs) * this.slotMs;
    const slot = this.slots[Math.floor(start / this.slotMs) % this.slots.length];
    if (slot.start !== start) {
      slot.start = start;
      slot.hist.clear();
    }
    slot.hist.record(ms);
    this.interval.record(ms);
    this.total.record(ms);
    for (const l of this.listeners) l(ms);
  }

  /** The samples since the previous call, then starts a new interval. */
  takeInterval(): LoopDelayStats {
    const out = this.describe(this.interval, this.intervalSince);
    this.interval.clear();
    this.intervalSince = this.now();
    return out;
  }

  /** Over the sliding window, or from `since` (epoch ms) if that is later. */
  stats(since?: number): LoopDelayStats {
    const now = this.now();
    const windowStart = now - this.windowSeconds * 1000;
    const from = since === undefined ? windowStart : Math.max(since, windowStart);
    const merged = new DelayHistogram();
    let first = Infinity;
    for (const slot of this.slots) {
      // A slot counts when any of it lies in [from, now].
      if (slot.start + this.slotMs <= from || slot.start > now) continue;
      merged.add(slot.hist);
      if (slot.start < first) first = slot.start;
    }
    return this.describe(merged, first === Infinity ? from : first);
  }

  private describe(h: DelayHistogram, since: number): LoopDelayStats {
    const r = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
    return {
      resolution_ms: this.resolutionMs,
      window_seconds: this.windowSeconds,
      since,
      samples: h.count,
      mean_ms: r(h.count === 0 ? null : h.sum / h.count),
      p50_ms: r(h.percentile(50)),
      p99_ms: r(h.percentile(99)),
      max_ms: r(h.count === 0 ? null : h.max),
    };
  }
}
