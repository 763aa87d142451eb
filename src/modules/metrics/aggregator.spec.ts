import fc from 'fast-check';
import { canonicalLabels, MetricsAggregator } from './aggregator';
import { InvalidMetricError } from './metrics.errors';

const make = (over: Partial<ConstructorParameters<typeof MetricsAggregator>[0]> = {}) =>
  new MetricsAggregator({ bucketMs: 1000, windowBuckets: 60, maxSamples: 256, maxSeries: 100, idleMs: 3_600_000, ...over });

describe('MetricsAggregator', () => {
  it('one series per name + labels, whatever the label order or value type', () => {
    const a = make();
    const x = a.resolve('decision.processing_ms', { tier: 'rule', strategy_id: 's1' })!;
    const y = a.resolve('decision.processing_ms', { strategy_id: 's1', tier: 'rule' })!;
    const z = a.resolve('decision.processing_ms', { tier: 'ml', strategy_id: 's1' })!;
    expect(y).toBe(x);
    expect(z).not.toBe(x);
    expect(x.labels).toEqual({ strategy_id: 's1', tier: 'rule' });
    expect(a.resolve('n', { ok: true })).toBe(a.resolve('n', { ok: 'true' }));
    expect(a.size).toBe(3);
  });

  it('every label order and value type reaches the same series, also past the remembered variants', () => {
    const a = make();
    const base = a.resolve('m', { a: 1, b: 2, c: 3 })!;
    const variants = [
      { a: 1, b: 2, c: 3 },
      { c: 3, b: 2, a: 1 },
      { b: '2', a: '1', c: 3 },
      { c: '3', a: 1, b: '2' },
      { a: '1', c: '3', b: 2 },
      { b: 2, c: '3', a: '1' },
      { c: 3, a: '1', b: '2' },
      { a: '1', b: '2', c: '3' },
      { b: '2', c: '3', a: 1 },
      { c: '3', b: '2', a: '1' },
    ];
    for (const v of variants) expect(a.resolve('m', v)).toBe(base);
    expect(a.size).toBe(1);
    expect(base.paths.length).toBeLessThanOrEqual(8);
    expect(a.resolve('m', { a: 1, b: 2 })).not.toBe(base); // a prefix is another series
  });

  it('refuses malformed names and labels (programming errors)', () => {
    const a = make();
    expect(() => a.resolve('bad name')).toThrow(InvalidMetricError);
    expect(() => a.resolve('ok', { 'bad-label': 1 })).toThrow(InvalidMetricError);
    expect(() => a.resolve('ok', { v: 'x'.repeat(129) })).toThrow(InvalidMetricError);
    expect(() => canonicalLabels({ a: {} as unknown as string })).toThrow(InvalidMetricError);
    expect(a.size).toBe(0);
  });

  it('past maxSeries, values of new series are dropped and counted; known series still record', () => {
    const a = make({ maxSeries: 2 });
    const s1 = a.resolve('m', { k: 1 })!;
    a.resolve('m', { k: 2 });
    expect(a.resolve('m', { k: 3 })).toBeUndefined();
    expect(a.resolve('m', { k: 4 })).toBeUndefined();
    expect(a.droppedNewSeries).toBe(2);
    expect(a.resolve('m', { k: 1 })).toBe(s1);
  });

  it('summaryFor reads one series; aggregate merges every series matching a label subset', () => {
    const a = make();
    const add = (labels: Record<string, string>, values: number[], t = 1000) => {
      const e = a.resolve('lat', labels)!;
      for (const v of values) a.ingest(e.id, v, t);
    };
    add({ tier: 'rule' }, [1, 2, 3]);
    add({ tier: 'rule', strategy_id: 's1' }, [10, 20]);
    add({ tier: 'ml', strategy_id: 's1' }, [100]);
    expect(a.summaryFor('lat', { tier: 'rule' }, 1000)).toMatchObject({ count: 3, sum: 6, min: 1, max: 3, mean: 2, p50: 2 });
    expect(a.summaryFor('lat', { tier: 'llm' }, 1000)).toBeUndefined();
    const rule = a.aggregate('lat', { tier: 'rule' }, 1000);
    expect(rule).toMatchObject({ count: 5, sum: 36, min: 1, max: 20, p50: 3, p99: 20, samples: 5, labels: { tier: 'rule' } });
    const all = a.aggregate('lat', undefined, 1000);
    expect(all).toMatchObject({ count: 6, sum: 136, max: 100, lifetime: { count: 6, sum: 136, min: 1, max: 100 } });
    const none = a.aggregate('nothing', undefined, 1000);
    expect(none).toMatchObject({ count: 0, mean: null, p50: null, last_value: null });
  });

  it('strategySummary gathers every metric recorded with that strategy_id', () => {
    const a = make();
    const ingest = (name: string, labels: Record<string, string>, v: number) => a.ingest(a.resolve(name, labels)!.id, v, 5000);
    ingest('decision.success', { tier: 'rule', strategy_id: 'A' }, 1);
    ingest('decision.success', { tier: 'ml', strategy_id: 'A' }, 0);
    ingest('decision.success', { tier: 'ml', strategy_id: 'B' }, 1);
    ingest('decision.processing_ms', { tier: 'ml', strategy_id: 'A' }, 4);
    const s = a.strategySummary('A', 5000);
    expect(Object.keys(s.metrics).sort()).toEqual(['decision.processing_ms', 'decision.success']);
    expect(s.metrics['decision.success']).toMatchObject({ count: 2, mean: 0.5, labels: { strategy_id: 'A' } });
    expect(a.strategySummary('nope', 5000).metrics).toEqual({});
  });

  it('rollups close each active series once; idle unpinned series are evicted only after their rollup', () => {
    const a = make({ idleMs: 10_000 });
    const kept = a.resolve('pinned')!;
    kept.pinned = true;
    const idle = a.resolve('idle')!;
    a.ingest(kept.id, 1, 0);
    a.ingest(idle.id, 2, 0);
    expect(a.evictIdle(60_000)).toBe(0); // values not rolled up yet
    const rollups = a.takeRollups();
    expect(rollups.map((r) => [r.entry.name, r.rollup.count])).toEqual([
      ['pinned', 1],
      ['idle', 1],
    ]);
    expect(a.takeRollups()).toEqual([]);
    expect(a.evictIdle(5_000)).toBe(0); // not idle long enough
    expect(a.evictIdle(60_000)).toBe(1);
    expect(idle.evicted).toBe(true);
    // A value of the evicted series still waiting in the ring is dropped and counted.
    a.ingest(idle.id, 3, 60_000);
    expect(a.droppedEvicted).toBe(1);
    // The name resolves to a fresh series.
    expect(a.resolve('idle')!.id).not.toBe(idle.id);
  });

  it('property: count equals the values recorded while within the window, p50 lies in [min, max]', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.float({ min: 0, max: 1000, noNaN: true })), { maxLength: 200 }), (records) => {
        const a = make();
        for (const [k, v] of records) a.ingest(a.resolve('m', { k })!.id, v, 1000);
        const all = a.aggregate('m', undefined, 1000);
        expect(all.count).toBe(records.length);
        expect(all.samples).toBe(records.length);
        for (const k of ['a', 'b', 'c']) {
          const mine = records.filter(([kk]) => kk === k).map(([, v]) => v);
          const s = a.aggregate('m', { k }, 1000);
          expect(s.count).toBe(mine.length);
          if (mine.length) {
            expect(s.p50!).toBeGreaterThanOrEqual(s.min!);
            expect(s.p50!).toBeLessThanOrEqual(s.max!);
            expect(s.min).toBe(Math.fround(Math.min(...mine)));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
