import { RateLimiter } from './rate-limiter';

/**
 * The per-session request limit: a token bucket per session — the id SessionTurnGuard resolved
 * the request to, so a bot named by session id or by character name is one bucket —
 * `ratePerSecond` sustained with bursts of one second's worth.
 * It stops one runaway bot without touching the others, which a per-address limit cannot do
 * when every bot of a farm is 127.0.0.1. Idle sessions' buckets are dropped (a full bucket and
 * no bucket are the same).
 */
export class SessionRateLimiter {
  private readonly buckets: RateLimiter;

  constructor(
    readonly ratePerSecond: number,
    now: () => number = () => performance.now(),
  ) {
    this.buckets = new RateLimiter(ratePerSecond, now, 'session');
  }

  get enabled(): boolean {
    return this.buckets.enabled;
  }

  get trackedSessions(): number {
    return this.buckets.trackedClients;
  }

  /** Takes one request from the session's budget, or throws RateLimitError (429 with Retry-After). */
  take(sessionKey: string): void {
    this.buckets.take(sessionKey);
  }
}
