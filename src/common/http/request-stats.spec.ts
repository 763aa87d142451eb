import { RequestStats } from './request-stats';

describe('RequestStats', () => {
  it('runs no event-loop monitor of its own: event_loop_lag_ms is what the registered sampler reports (null without one)', () => {
    const stats = new RequestStats();
    expect(stats.snapshot().event_loop_lag_ms).toBeNull();
    let p99: number | null = 3.25;
    stats.useLoopDelay(() => p99);
    expect(stats.snapshot().event_loop_lag_ms).toBe(3.25);
    p99 = null;
    expect(stats.snapshot().event_loop_lag_ms).toBeNull();
  });
});
