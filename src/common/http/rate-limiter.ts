import { RateLimitError } from '../errors/http.errors';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token bucket per client address: `ratePerSecond` sustained, bursts up to one second's worth.
 * Idle buckets are full by definition, so they are dropped instead of kept (no leak per address).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly idleMs = 10_000;
  private lastSweep = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
    /** What the budget is counted per, for the refusal's message. */
    private readonly per = 'client address',
  ) {}

  get enabled(): boolean {
    return this.ratePerSecond > 0;
  }

  get trackedClients(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key` or throws RateLimitError with the seconds until one is available. */
  take(key: string): void {
    if (!this.enabled) return;
    const now = this.now();
    this.sweep(now);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.ratePerSecond, updatedAt: now };
      this.buckets.set(key, bucket);
    } else {
      const refill = ((now - bucket.updatedAt) / 1000) * this.ratePerSecond;
      bucket.tokens = Math.min(this.ratePerSecond, bucket.tokens + refill);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
    throw new RateLimitError(`Rate limit of ${this.ratePerSecond} requests/s per ${this.per} exceeded`, retryAfterSeconds);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.idleMs) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedAt >= this.idleMs) this.buckets.delete(key);
    }
  }
}
