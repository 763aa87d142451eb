import fc from 'fast-check';
import { canonicalJson, embeddingInput, renderText } from './canonical-json';
import type { JsonValue } from './embedding-provider';
import { HASHING_DIMENSIONS, HASHING_PROVIDER_NAME, HashingEmbeddingProvider } from './hashing-embedding.provider';

const provider = new HashingEmbeddingProvider();
const embed = (v: JsonValue) => provider.embedValue(v);
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(cos(a, a));

const kill = {
  type: 'monster_kill',
  location: { map: 'prt_fild08', x: 152, y: 201 },
  actors: ['Poring'],
  outcome: 'victory',
  situation: 'killed a poring at full hp, it dropped a jellopy',
};

describe('HashingEmbeddingProvider', () => {
  it('makes 384-dimension unit vectors, identical for equal values whatever their key order', async () => {
    expect(provider.name).toBe(HASHING_PROVIDER_NAME);
    expect(provider.dimensions).toBe(HASHING_DIMENSIONS);
    const v = embed(kill);
    expect(v).toHaveLength(384);
    expect(norm(v)).toBeCloseTo(1, 6);
    const reordered = { situation: kill.situation, outcome: 'victory', actors: ['Poring'], location: { y: 201, x: 152, map: 'prt_fild08' }, type: 'monster_kill' };
    expect(Array.from(embed(reordered))).toEqual(Array.from(v));
    const [viaBatch] = await provider.embed([embeddingInput(kill)]);
    expect(Array.from(viaBatch)).toEqual(Array.from(v));
  });

  it('ranks a variation of an event above other events', () => {
    const base = embed(kill);
    const nearby = embed({ ...kill, location: { map: 'prt_fild08', x: 150, y: 199 }, situation: 'killed a poring, it dropped a jellopy' });
    const otherMonster = embed({ ...kill, actors: ['Lunatic'], situation: 'killed a lunatic at full hp' });
    const death = embed({ type: 'death', location: { map: 'gef_dun01' }, actors: ['Nightmare'], outcome: 'defeat', situation: 'died to a nightmare with low sp' });
    expect(cos(base, nearby)).toBeGreaterThan(0.9);
    expect(cos(base, nearby)).toBeGreaterThan(cos(base, otherMonster));
    expect(cos(base, otherMonster)).toBeGreaterThan(cos(base, death));
    expect(cos(base, death)).toBeLessThan(0.3);
  });

  it('ignores identifiers and clocks, so events differing only in them embed identically', () => {
    const a = embed({ ...kill, id: 1, timestamp: 1_700_000_000_000, request_id: 'r-1' });
    const b = embed({ ...kill, id: 2, timestamp: 1_700_000_999_000, request_id: 'r-2' });
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('treats keys named like Object.prototype members as plain keys', () => {
    const tricky = JSON.parse('{"__proto__": 1, "constructor": "x", "toString": {"valueOf": 2}, "hasOwnProperty": [true]}') as JsonValue;
    const v = embed(tricky);
    expect(v.every(Number.isFinite)).toBe(true);
    expect(norm(v)).toBeCloseTo(1, 6);
  });

  it('gives a unit vector for values with nothing to go by', () => {
    for (const v of [{}, { id: 5 }, [], null, '', { nested: { deeper: {} } }] as JsonValue[]) expect(norm(embed(v))).toBeCloseTo(1, 6);
  });

  it('is total and bounded: any JSON gives a finite unit vector', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
        const v = embed(value as JsonValue);
        expect(v).toHaveLength(384);
        expect(v.every(Number.isFinite)).toBe(true);
        expect(norm(v)).toBeCloseTo(1, 5);
      }),
      { numRuns: 300 },
    );
  });

  it('caps the work on huge values (long arrays and texts)', () => {
    const huge = { type: 'x', list: Array.from({ length: 50_000 }, (_, i) => i), text: 'word '.repeat(50_000) };
    const started = performance.now();
    expect(norm(embed(huge))).toBeCloseTo(1, 6);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('supports other dimensions and rejects silly ones', () => {
    const small = new HashingEmbeddingProvider(64);
    expect(small.name).toBe(`${HASHING_PROVIDER_NAME}-64`);
    expect(small.embedValue(kill)).toHaveLength(64);
    expect(() => new HashingEmbeddingProvider(3)).toThrow(RangeError);
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level and keeps arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(renderText({ b: 'x', a: { c: [1, 2] } })).toBe('a.c[]: 1\na.c[]: 2\nb: x');
  });

  it('round-trips and does not depend on key insertion order', () => {
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).reverse().map((k) => [k, reversed((v as Record<string, unknown>)[k])])) : v;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value as JsonValue);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(reversed(value) as JsonValue)).toBe(text);
      }),
    );
  });
});
