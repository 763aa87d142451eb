import type { LockKind } from './lock-order.enum';

export interface SampleSummary {
  count: number;
  meanMs: number;
  maxMs: number;
  /** Over the most recent samples only (bounded ring), so it tracks current behaviour. */
  p99Ms: number;
}

/**
 * Running count/sum/max plus a fixed ring of recent samples for percentiles.
 * Recording is a few arithmetic ops and one typed-array store: no allocation,
 * so the profiler can stay on in production.
 */
export class SampleWindow {
  count = 0;
  totalMs = 0;
  maxMs = 0;
  private readonly ring: Float64Array;
  private cursor = 0;

  constructor(capacity = 1024) {
    this.ring = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.count++;
    this.totalMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    this.ring[this.cursor] = ms;
    this.cursor = (this.cursor + 1) % this.ring.length;
  }

  summary(): SampleSummary {
    const n = Math.min(this.count, this.ring.length);
    let p99 = 0;
    if (n > 0) {
      const recent = this.ring.slice(0, n).sort();
      p99 = recent[Math.ceil(n * 0.99) - 1];
    }
    return {
      count: this.count,
      meanMs: this.count ? round(this.totalMs / this.count) : 0,
      maxMs: round(this.maxMs),
      p99Ms: round(p99),
    };
  }
}

/** Counters of one lock, or of a whole keyed family (per-key stats would grow without bound). */
export class LockStats {
  acquisitions = 0;
  /** Acquisitions that had to queue (counted when the wait starts, whatever its outcome). */
  contentions = 0;
  timeouts = 0;
  aborts = 0;
  deadlocks = 0;
  /** Wait time of contended acquisitions that were granted; uncontended ones wait 0. */
  readonly wait = new SampleWindow();
  readonly hold = new SampleWindow();

  constructor(
    readonly name: string,
    readonly kind: LockKind,
    readonly order: number,
  ) {}
}

export interface ContentionRow {
  lock: string;
  kind: LockKind;
  order: number;
  acquisitions: number;
  contentions: number;
  contentionRate: number;
  timeouts: number;
  aborts: number;
  deadlocks: number;
  waitMs: SampleSummary;
  holdMs: SampleSummary;
}

export interface OrderViolationCount {
  held: string;
  attempted: string;
  count: number;
}

export class ContentionProfiler {
  private readonly stats = new Map<string, LockStats>();
  private readonly violations = new Map<string, OrderViolationCount>();
  violationTotal = 0;

  /** Registers (or returns) the stats of one lock name; locks keep the reference, so no lookup per acquire. */
  statsFor(name: string, kind: LockKind, order: number): LockStats {
    let stats = this.stats.get(name);
    if (!stats) {
      stats = new LockStats(name, kind, order);
      this.stats.set(name, stats);
    }
    return stats;
  }

  /** `held`/`attempted` are family names so the table stays bounded with keyed locks. */
  recordViolation(held: string, attempted: string): void {
    this.violationTotal++;
    const pair = `${held}\u0000${attempted}`;
    const entry = this.violations.get(pair);
    if (entry) entry.count++;
    else this.violations.set(pair, { held, attempted, count: 1 });
  }

  violationCounts(): OrderViolationCount[] {
    return [...this.violations.values()].map((v) => ({ ...v }));
  }

  table(): ContentionRow[] {
    return [...this.stats.values()].map((s) => {
      const attempts = s.acquisitions + s.timeouts + s.aborts + s.deadlocks;
      return {
        lock: s.name,
        kind: s.kind,
        order: s.order,
        acquisitions: s.acquisitions,
        contentions: s.contentions,
        // Share of attempts that had to queue; clamped because a wait in progress counts before its outcome.
        contentionRate: attempts ? round(Math.min(1, s.contentions / attempts)) : 0,
        timeouts: s.timeouts,
        aborts: s.aborts,
        deadlocks: s.deadlocks,
        waitMs: s.wait.summary(),
        holdMs: s.hold.summary(),
      };
    });
  }

  get(name: string): LockStats | undefined {
    return this.stats.get(name);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
