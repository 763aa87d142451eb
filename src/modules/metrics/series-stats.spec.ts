import fc from 'fast-check';
import { percentile, SeriesStats } from './series-stats';

const shape = (over: Partial<{ bucketMs: number; windowBuckets: number; maxSamples: number }> = {}) => ({
  bucketMs: 1000,
  windowBuckets: 10,
  maxSamples: 64,
  ...over,
});

/** Reference nearest-rank percentile on a plain sorted copy. */
function reference(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

describe('percentile (nearest rank)', () => {
  it('matches the textbook definition', () => {
    const sorted = Float64Array.from([15, 20, 35, 40, 50]);
    expect(percentile(sorted, 5)).toBe(15);
    expect(percentile(sorted, 30)).toBe(20);
    expect(percentile(sorted, 40)).toBe(20);
    expect(percentile(sorted, 50)).toBe(35);
    expect(percentile(sorted, 100)).toBe(50);
    expect(percentile(new Float64Array(0), 50)).toBeUndefined();
    expect(percentile([7], 99)).toBe(7);
  });

  it('p50/p95/p99 of 1..100 are 50, 95, 99', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99)]).toEqual([50, 95, 99]);
  });
});

describe('SeriesStats', () => {
  it('window statistics cover exactly the last windowBuckets steps and slide', () => {
    const s = new SeriesStats(shape({ windowBuckets: 3 }));
    s.add(1, 0); // step 0
    s.add(2, 1500); // step 1
    s.add(3, 2999); // step 2
    let w = s.window(2999);
    expect([w.count, w.sum, w.min, w.max, w.mean]).toEqual([3, 6, 1, 3, 2]);
    // At t=3000 the window is steps 1..3: the value of step 0 left it.
    w = s.window(3000);
    expect([w.count, w.sum, w.min, w.max]).toEqual([2, 5, 2, 3]);
    expect(Array.from(w.values)).toEqual([2, 3]);
    // A value in step 3 reuses step 0's slot.
    s.add(10, 3001);
    w = s.window(3001);
    expect([w.count, w.sum, w.min, w.max]).toEqual([3, 15, 2, 10]);
    // Long after: an empty window, but the lifetime remembers everything.
    w = s.window(60_000);
    expect([w.count, w.sum, w.min, w.max, w.mean]).toEqual([0, 0, null, null, null]);
    expect(s.lifetime()).toEqual({ count: 4, sum: 16, min: 1, max: 10, mean: 4 });
  });

  it('percentiles are over the window only', () => {
    const s = new SeriesStats(shape({ windowBuckets: 2, maxSamples: 512 }));
    for (let i = 0; i < 100; i++) s.add(1000 + i, 0); // step 0: large values
    for (let i = 1; i <= 100; i++) s.add(i, 1000); // step 1
    for (let i = 1; i <= 100; i++) s.add(i, 2000); // step 2
    const w = s.window(2000); // steps 1..2: 1..100 twice
    const sorted = w.values.slice().sort();
    expect(w.count).toBe(200);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99)]).toEqual([50, 95, 99]);
  });

  it('beyond maxSamples, percentiles use the newest values while count/sum/min/max stay exact', () => {
    const s = new SeriesStats(shape({ maxSamples: 16 }));
    for (let i = 1; i <= 100; i++) s.add(i, 5000);
    const w = s.window(5000);
    expect([w.count, w.sum, w.min, w.max]).toEqual([100, 5050, 1, 100]);
    expect(Array.from(w.values)).toEqual(Array.from({ length: 16 }, (_, i) => 85 + i));
  });

  it('a rollup covers the values since the previous one, then starts over', () => {
    const s = new SeriesStats(shape());
    expect(s.takeRollup()).toBeUndefined();
    for (const v of [5, 1, 9, 3]) s.add(v, 100);
    const r = s.takeRollup()!;
    expect(r).toMatchObject({ count: 4, sum: 18, min: 1, max: 9, mean: 4.5, p50: 3, p99: 9, firstAt: 100, lastAt: 100 });
    expect(s.pendingRollup).toBe(0);
    s.add(7, 200);
    expect(s.takeRollup()).toMatchObject({ count: 1, sum: 7, min: 7, max: 7, p50: 7, p95: 7, p99: 7, firstAt: 200 });
  });

  it('property: window stats equal a reference computation; p50 ≤ p95 ≤ p99 within [min, max]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 400 })), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 128 }),
        (raw, windowBuckets, maxSamples) => {
          // Time only moves forward, as with the collector's monotonic clock (steps of 100 ms).
          let t = 0;
          const values = raw.map(([v, dt]) => ({ v, t: (t += dt) }));
          const s = new SeriesStats({ bucketMs: 100, windowBuckets, maxSamples });
          for (const { v, t: at } of values) s.add(v, at);
          const now = t;
          const oldestStep = Math.floor(now / 100) - windowBuckets + 1;
          const inWindow = values.filter((x) => Math.floor(x.t / 100) >= oldestStep).map((x) => x.v);
          const w = s.window(now);
          expect(w.count).toBe(inWindow.length);
          expect(w.min).toBe(inWindow.length ? Math.min(...inWindow) : null);
          expect(w.max).toBe(inWindow.length ? Math.max(...inWindow) : null);
          expect(w.sum).toBeCloseTo(inWindow.reduce((a, b) => a + b, 0), 3);
          // The percentile sample is the newest min(count, maxSamples) values of the window.
          expect(w.values.length).toBe(Math.min(inWindow.length, maxSamples));
          expect(Array.from(w.values)).toEqual(inWindow.slice(inWindow.length - w.values.length));
          const sorted = w.values.slice().sort();
          const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(sorted, p) ?? null);
          if (inWindow.length <= maxSamples) {
            expect([p50, p95, p99]).toEqual([50, 95, 99].map((p) => reference(inWindow, p)));
          }
          if (inWindow.length > 0) {
            expect(p50!).toBeGreaterThanOrEqual(w.min!);
            expect(p50!).toBeLessThanOrEqual(p95!);
            expect(p95!).toBeLessThanOrEqual(p99!);
            expect(p99!).toBeLessThanOrEqual(w.max!);
          }
          expect(s.lifetime().count).toBe(values.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
