import fc from 'fast-check';
import { InvalidRequestError } from '../errors/app.error';
import { assertJsonBounds } from './json-body.parser';

describe('assertJsonBounds', () => {
  it('accepts ordinary bodies', () => {
    expect(() => assertJsonBounds({ a: [1, 2, { b: 'c' }], d: null })).not.toThrow();
    expect(() => assertJsonBounds('x')).not.toThrow();
  });

  it('refuses nesting past the depth bound without recursing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => assertJsonBounds(deep)).toThrow(InvalidRequestError);
    let ok: unknown = 1;
    for (let i = 0; i < 31; i++) ok = { k: ok };
    expect(() => assertJsonBounds(ok, 32)).not.toThrow();
    expect(() => assertJsonBounds({ k: ok }, 32)).not.toThrow();
    expect(() => assertJsonBounds({ k: { k: ok } }, 32)).toThrow(/deeper than 32/);
  });

  it('refuses too many values', () => {
    expect(() => assertJsonBounds(new Array(200).fill(0), 32, 100)).toThrow(/more than 100/);
  });

  it('decides like the plain definition: depth counts containers, every value counts once', () => {
    // The definition, written the obvious way (recursive: fine for test-sized values).
    const reference = (value: unknown, maxDepth: number, maxNodes: number): string => {
      let nodes = 0;
      const visit = (v: unknown, depth: number): void => {
        if (++nodes > maxNodes) throw new Error(`JSON body has more than ${maxNodes} values`);
        if (v === null || typeof v !== 'object') return;
        if (depth > maxDepth) throw new Error(`JSON body is nested deeper than ${maxDepth} levels`);
        for (const child of Object.values(v)) visit(child, depth + 1);
      };
      try {
        visit(value, 1);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const outcome = (value: unknown, maxDepth: number, maxNodes: number): string => {
      try {
        assertJsonBounds(value, maxDepth, maxNodes);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 40 }), (value, maxDepth, maxNodes) => {
        const expected = reference(value, maxDepth, maxNodes);
        const actual = outcome(value, maxDepth, maxNodes);
        // Both limits can be crossed in one body: which one is reported first may differ.
        if (expected === 'ok' || actual === 'ok') expect(actual).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
