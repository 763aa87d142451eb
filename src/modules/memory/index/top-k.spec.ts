import fc from 'fast-check';
import { TopK } from './top-k';

describe('TopK', () => {
  it('keeps the k best of a stream, best first, ties to the higher slot', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), (scores, k) => {
        const top = new TopK(k);
        scores.forEach((s, slot) => top.push(s, slot));
        const expected = scores
          .map((score, slot) => ({ slot, score }))
          .sort((a, b) => b.score - a.score || b.slot - a.slot)
          .slice(0, k);
        expect(top.drain()).toEqual(expected);
        expect(top.size).toBe(0);
      }),
    );
  });

  it('reports the k-th best as its threshold once full', () => {
    const top = new TopK(2);
    expect(top.threshold).toBe(-Infinity);
    top.push(0.5, 0);
    expect(top.threshold).toBe(-Infinity);
    top.push(0.9, 1);
    top.push(0.7, 2);
    expect(top.threshold).toBe(0.7);
    expect(() => new TopK(0)).toThrow(RangeError);
  });
});
