import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from './bucket-histogram';
import { parsePrometheusText } from './prometheus-text.test-kit';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];

async function samples(registry: Registry) {
  const f = parsePrometheusText(await registry.metrics()).get('h_seconds')!;
  const key = (s: { name: string; labels: Record<string, string> }) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
  return { type: f.type, help: f.help, samples: [...f.samples].sort((a, b) => key(a).localeCompare(key(b))) };
}

describe('BucketHistogram', () => {
  it('exposes exactly what prom-client’s histogram exposes for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('GET', 'POST'), fc.constantFrom('/a', '/b', '/a/"q"\\x'), fc.double({ min: 0, max: 20, noNaN: true })), { maxLength: 60 }),
        async (observations) => {
          const reference = new Registry();
          const theirs = new Histogram({ name: 'h_seconds', help: 'durations', labelNames: ['method', 'route'], buckets: BUCKETS, registers: [reference] });
          const registry = new Registry();
          const ours = new BucketHistogram('h_seconds', 'durations', ['method', 'route'], BUCKETS, registry);
          for (const [method, route, value] of observations) {
            theirs.labels(method, route).observe(value);
            ours.labels(method, route).observe(value);
          }
          expect(await samples(registry)).toEqual(await samples(reference));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('gives the same child for the same labels, and reset zeroes every sample while bound children go on counting', async () => {
    const registry = new Registry();
    const h = new BucketHistogram('h_seconds', 'durations', ['route'], BUCKETS, registry);
    const child = h.labels('/a');
    child.observe(0.5);
    child.observe(Number.NaN); // not a duration: ignored, never a NaN sum
    expect(h.labels('/a')).toBe(child);
    h.labels('/a').observe(2);
    let f = parsePrometheusText(await registry.metrics()).get('h_seconds')!;
    expect(f.samples.find((s) => s.name === 'h_seconds_count')!.value).toBe(2);
    expect(f.samples.find((s) => s.name === 'h_seconds_sum')!.value).toBe(2.5);
    h.reset();
    f = parsePrometheusText(await registry.metrics()).get('h_seconds')!;
    expect(f.samples.length).toBe(BUCKETS.length + 3);
    expect(f.samples.every((s) => s.value === 0)).toBe(true);
    child.observe(0.5);
    f = parsePrometheusText(await registry.metrics()).get('h_seconds')!;
    expect(f.samples.find((s) => s.name === 'h_seconds_count')!.value).toBe(1);
  });

  it('finds the same child again for no labels and for several, values that share prefixes staying apart', async () => {
    const registry = new Registry();
    const none = new BucketHistogram('n_seconds', 'n', [], BUCKETS, registry);
    expect(none.labels()).toBe(none.labels());
    const three = new BucketHistogram('t_seconds', 't', ['method', 'route', 'status'], BUCKETS, registry);
    const a = three.labels('POST', '/a', '200');
    expect(three.labels('POST', '/a', '200')).toBe(a);
    const b = three.labels('POST', '/a', '2000');
    const c = three.labels('POST', '/a2', '00');
    expect(new Set([a, b, c]).size).toBe(3);
    a.observe(1);
    b.observe(1);
    b.observe(1);
    const f = parsePrometheusText(await registry.metrics()).get('t_seconds')!;
    const count = (status: string, route = '/a') => f.samples.find((x) => x.name === 't_seconds_count' && x.labels.status === status && x.labels.route === route)!.value;
    expect([count('200'), count('2000'), count('00', '/a2')]).toEqual([1, 2, 0]);
  });

  it('refuses buckets it could not expose and label values of the wrong arity', () => {
    expect(() => new BucketHistogram('x', 'x', [], [1, 1], new Registry())).toThrow(RangeError);
    expect(() => new BucketHistogram('y', 'y', [], [Number.POSITIVE_INFINITY], new Registry())).toThrow(RangeError);
    expect(() => new BucketHistogram('z', 'z', ['a'], [1], new Registry()).labels()).toThrow(RangeError);
  });
});
