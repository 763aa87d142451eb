import { RateLimitError } from '../errors/http.errors';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows a burst of one second worth, then refuses with retry-after, then refills', () => {
    let now = 0;
    const limiter = new RateLimiter(10, () => now);
    for (let i = 0; i < 10; i++) limiter.take('a');
    let err: unknown;
    try {
      limiter.take('a');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterSeconds).toBe(1);
    limiter.take('b'); // other addresses have their own bucket
    now += 100; // 0.1 s refills one token at 10/s
    expect(() => limiter.take('a')).not.toThrow();
    expect(() => limiter.take('a')).toThrow(RateLimitError);
  });

  it('forgets idle clients', () => {
    let now = 0;
    const limiter = new RateLimiter(5, () => now);
    for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.trackedClients).toBe(1000);
    now += 20_000;
    limiter.take('x');
    expect(limiter.trackedClients).toBe(1);
  });

  it('is off at 0', () => {
    const limiter = new RateLimiter(0);
    for (let i = 0; i < 10_000; i++) limiter.take('a');
    expect(limiter.enabled).toBe(false);
  });
});
