import fc from 'fast-check';
import { DecisionHistory } from './decision-history';

const zero = { reflex: 0, rule: 0, ml: 0, llm: 0 };
const lat = { p50: 1, p99: 2 };

describe('DecisionHistory', () => {
  it('turns cumulative counters into rates per second since the previous sample', () => {
    const h = new DecisionHistory(10);
    h.baseline(1_000, zero);
    const p = h.sample(3_000, { reflex: 10, rule: 4, ml: 0, llm: 1 }, lat);
    expect(p).toEqual({ t: 3_000, rates: { reflex: 5, rule: 2, ml: 0, llm: 0.5 }, p50: 1, p99: 2 });
    expect(h.sample(4_000, { reflex: 10, rule: 5, ml: 0, llm: 1 }, { p50: null, p99: null })!.rates).toEqual({ reflex: 0, rule: 1, ml: 0, llm: 0 });
    expect(h.points().map((x) => x.t)).toEqual([3_000, 4_000]);
  });

  it('adds no point without a baseline or when no time passed', () => {
    const h = new DecisionHistory(10);
    expect(h.sample(1_000, zero, lat)).toBeUndefined();
    expect(h.sample(1_000, zero, lat)).toBeUndefined();
    expect(h.points()).toEqual([]);
  });

  it('counts from zero when a counter went back', () => {
    const h = new DecisionHistory(4);
    h.baseline(0, { reflex: 100, rule: 0, ml: 0, llm: 0 });
    expect(h.sample(1_000, { reflex: 3, rule: 0, ml: 0, llm: 0 }, lat)!.rates.reflex).toBe(3);
  });

  it('property: keeps the newest `capacity` points, oldest first, whose rates add up to the counted decisions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ dt: fc.integer({ min: 1, max: 5_000 }), add: fc.integer({ min: 0, max: 1_000 }) }), { maxLength: 60 }),
        (capacity, steps) => {
          const h = new DecisionHistory(capacity);
          let t = 0;
          let rule = 0;
          h.baseline(t, zero);
          const all: Array<{ t: number; added: number; dt: number }> = [];
          for (const s of steps) {
            t += s.dt;
            rule += s.add;
            h.sample(t, { ...zero, rule }, lat);
            all.push({ t, added: s.add, dt: s.dt });
          }
          const points = h.points();
          const kept = all.slice(-capacity);
          expect(points.map((p) => p.t)).toEqual(kept.map((k) => k.t));
          points.forEach((p, i) => {
            // Rates are rounded to 0.01/s: the count they stand for is within half a hundredth per second.
            expect(Math.abs((p.rates.rule * kept[i].dt) / 1000 - kept[i].added)).toBeLessThanOrEqual((0.005 * kept[i].dt) / 1000 + 1e-9);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
