import fc from 'fast-check';
import { LruCache } from './lru-cache';

describe('LruCache', () => {
  it('evicts the least recently used entry past its capacity', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3); // evicts b
    expect(cache.has('b')).toBe(false);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.stats()).toEqual({ size: 2, capacity: 2, hits: 3, misses: 1, evictions: 1 });
  });

  it('re-setting a key refreshes it instead of growing', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 10);
    cache.set('c', 3); // evicts b, not a
    expect(cache.get('a')).toBe(10);
    expect(cache.has('b')).toBe(false);
    expect(cache.size).toBe(2);
  });

  it('with capacity 0 caches nothing', () => {
    const cache = new LruCache<string, number>(0);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(() => new LruCache(-1)).toThrow(RangeError);
  });

  it('behaves like a reference model and never exceeds its capacity', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 9 }), value: fc.integer() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 100 }), (capacity, ops) => {
        const cache = new LruCache<number, number>(capacity);
        let model: Array<[number, number]> = []; // oldest first
        for (const o of ops) {
          if (o.kind === 'get') {
            const hit = model.find(([k]) => k === o.key);
            expect(cache.get(o.key)).toBe(hit?.[1]);
            if (hit) model = [...model.filter(([k]) => k !== o.key), hit];
          } else {
            cache.set(o.key, o.value);
            model = [...model.filter(([k]) => k !== o.key), [o.key, o.value]];
            if (model.length > capacity) model = model.slice(model.length - capacity);
          }
          expect(cache.size).toBe(model.length);
          expect(cache.size).toBeLessThanOrEqual(capacity);
        }
      }),
    );
  });
});
