import { warmRequestPipeline } from './pipeline.warmup';
import { RequestStats } from './request-stats';

describe('warmRequestPipeline', () => {
  it('runs every request through the front door and the pipeline, answered, on counters of its own', async () => {
    const stats = new RequestStats();
    const observed: Array<[string, string | undefined, number]> = [];
    stats.observe((method, route, status) => observed.push([method, route, status]));
    await warmRequestPipeline({ requests: 64, readJson: (b) => JSON.parse(b.toString('utf8')), maxBodyBytes: 1 << 20, stats });
    expect(stats.requestsTotal).toBe(64);
    expect(stats.inFlight).toBe(0);
    expect(new Set(observed.map((o) => o.join(' ')))).toEqual(new Set(['POST /api/v1/decide 200']));
  });
});
