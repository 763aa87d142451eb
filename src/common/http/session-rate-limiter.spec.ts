import { RateLimitError } from '../errors/http.errors';
import { SessionRateLimiter } from './session-rate-limiter';

describe('SessionRateLimiter', () => {
  it('limits each session on its own: a runaway one is refused, the others are not', () => {
    let now = 0;
    const limiter = new SessionRateLimiter(100, () => now);
    for (let i = 0; i < 100; i++) limiter.take('character:Runaway');
    let err: unknown;
    try {
      limiter.take('character:Runaway');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterSeconds).toBe(1);
    expect((err as RateLimitError).message).toContain('per session');
    // 40 other bots at 20 ticks/s for 8 s of fake time are never refused.
    for (let tick = 0; tick < 160; tick++) {
      now += 50;
      for (let bot = 0; bot < 40; bot++) limiter.take(`character:Bot${bot}`);
    }
    expect(limiter.trackedSessions).toBe(41);
  });

  it('refills at the configured rate', () => {
    let now = 0;
    const limiter = new SessionRateLimiter(10, () => now);
    for (let i = 0; i < 10; i++) limiter.take('s');
    expect(() => limiter.take('s')).toThrow(RateLimitError);
    now += 100;
    expect(() => limiter.take('s')).not.toThrow();
    expect(() => limiter.take('s')).toThrow(RateLimitError);
  });

  it('is off at 0', () => {
    const limiter = new SessionRateLimiter(0);
    for (let i = 0; i < 10_000; i++) limiter.take('s');
    expect(limiter.enabled).toBe(false);
  });
});
