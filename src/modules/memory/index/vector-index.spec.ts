import fc from 'fast-check';
import { int8DotModule, int8DotModuleBytes } from './int8-dot-kernel';
import { dotRows, type IndexRecord, VectorIndex } from './vector-index';

const { imul, sqrt } = Math;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = imul(a ^ (a >>> 15), a | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function unit(dims: number, random: () => number, sparse = false): Float32Array {
  const v = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    const x = sparse && random() < 0.9 ? 0 : random() - 0.5;
    v[i] = x;
    norm += x * x;
  }
  if (norm === 0) v[0] = norm = 1;
  const inv = 1 / sqrt(norm);
  for (let i = 0; i < dims; i++) v[i] *= inv;
  return v;
}

const rec = (id: number, tag = 0): IndexRecord => ({ id, importance: 0.5, createdAt: id, decayedAt: id, accessCount: 0, mergedCount: 1, tag });

/** The exact answer: every row scored in float64 from its float32 vector, best first, ties to the newer row. */
function bruteForce(rows: Float32Array[], q: Float32Array, k: number): Array<{ id: number; similarity: number }> {
  return rows
    .map((v, i) => ({ id: i + 1, slot: i, similarity: Math.min(1, Math.max(-1, dotRows(v, 0, q, 0, q.length))) }))
    .sort((a, b) => b.similarity - a.similarity || b.slot - a.slot)
    .slice(0, k)
    .map(({ id, similarity }) => ({ id, similarity }));
}

describe('int8 dot kernel', () => {
  it('is valid WebAssembly and compiles here (SIMD available on Node 20)', () => {
    expect(int8DotModuleBytes().subarray(0, 4)).toEqual(new Uint8Array([0x00, 0x61, 0x73, 0x6d]));
    expect(int8DotModule()).not.toBeNull();
  });
});

describe('VectorIndex', () => {
  it('returns the exact top k, sorted, on the SIMD two-stage path and the plain scan alike', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 600, max: 1500 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), fc.constantFrom(40, 96, 130), (seed, n, k, sparse, dims) => {
        // Row lengths that are and are not multiples of the kernel's 32-byte step (zero padding).
        const random = rng(seed);
        const rows = Array.from({ length: n }, () => unit(dims, random, sparse));
        // Near-ties and exact duplicates make the coarse stage's error bound matter.
        for (let i = 0; i < 20; i++) rows[Math.floor(random() * n)] = rows[Math.floor(random() * n)];
        const simd = new VectorIndex(dims, { initialCapacity: 8 });
        const plain = new VectorIndex(dims, { simd: false });
        rows.forEach((v, i) => {
          simd.add(rec(i + 1), v);
          plain.add(rec(i + 1), v);
        });
        expect(simd.simd).toBe(true);
        const q = random() < 0.5 ? unit(dims, random, sparse) : rows[Math.floor(random() * n)];
        const expected = bruteForce(rows, q, k);
        const strip = (hits: Array<{ id: number; similarity: number }>) => hits.map(({ id, similarity }) => ({ id, similarity }));
        expect(strip(simd.search(q, k))).toEqual(expected);
        expect(strip(plain.search(q, k))).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('finds an identical vector first with similarity ≈ 1 among 8,000', () => {
    const random = rng(7);
    const index = new VectorIndex(384);
    let probe: Float32Array | undefined;
    for (let i = 0; i < 8_000; i++) {
      const v = unit(384, random);
      if (i === 5_432) probe = v;
      index.add(rec(i + 1), v);
    }
    const hits = index.search(probe!, 10);
    expect(hits[0].id).toBe(5_433);
    expect(hits[0].similarity).toBeCloseTo(1, 6);
    for (let i = 1; i < hits.length; i++) expect(hits[i].similarity).toBeLessThanOrEqual(hits[i - 1].similarity);
    // The coarse stage re-ranked a small fraction of the rows.
    expect(index.stats.reranked).toBeLessThan(1_000);
    expect(index.stats.inexactSearches).toBe(0);
  });

  it('grows without losing rows, ignores a repeated id, and keeps per-row metadata', () => {
    const random = rng(3);
    const index = new VectorIndex(40, { initialCapacity: 1 });
    const rows = Array.from({ length: 1000 }, () => unit(40, random));
    rows.forEach((v, i) => expect(index.add({ ...rec(i + 10, i % 3), importance: i / 1000 }, v)).toBe(true));
    expect(index.add(rec(10), rows[5])).toBe(false);
    expect(index.size).toBe(1000);
    expect(index.capacity).toBeGreaterThanOrEqual(1000);
    expect(index.slot(509)).toBe(499);
    expect(index.record(499)).toEqual({ id: 509, importance: 0.499, createdAt: 509, decayedAt: 509, accessCount: 0, mergedCount: 1, tag: 499 % 3 });
    expect(Array.from(index.vectorAt(999))).toEqual(Array.from(rows[999]));
    index.touch(499);
    index.touch(499, 2);
    expect(index.accessCountAt(499)).toBe(3);
    expect(index.similarity(3, 3)).toBeCloseTo(1, 6);
    expect(() => index.vectorAt(1000)).toThrow(RangeError);
    expect(() => index.add(rec(1), new Float32Array(39))).toThrow(RangeError);
  });

  it('answers empty for an empty index or k < 1, and at most size results', () => {
    const index = new VectorIndex(16);
    expect(index.search(new Float32Array(16).fill(0.25), 5)).toEqual([]);
    index.add(rec(1), new Float32Array(16).fill(0.25));
    expect(index.search(new Float32Array(16).fill(0.25), 0)).toEqual([]);
    expect(index.search(new Float32Array(16).fill(0.25), 5)).toHaveLength(1);
  });

  it('reports its memory: float32 vectors plus int8 codes plus metadata', () => {
    const index = new VectorIndex(384, { initialCapacity: 10_000 });
    const usage = index.memoryUsage();
    expect(usage.vectors).toBe(10_000 * 384 * 4);
    expect(usage.codes).toBeGreaterThanOrEqual(10_000 * 384);
    expect(usage.codes).toBeLessThan(10_000 * 384 * 1.2);
    expect(usage.total).toBe(usage.vectors + usage.codes + usage.metadata + usage.idMapEstimate);
  });

  it('approximates similarities closely in bulk', () => {
    const random = rng(11);
    const index = new VectorIndex(384);
    const rows = Array.from({ length: 600 }, () => unit(384, random));
    rows.forEach((v, i) => index.add(rec(i + 1), v));
    const q = unit(384, random);
    const approx = index.approximateScores(q);
    rows.forEach((v, i) => expect(Math.abs(approx[i] - dotRows(v, 0, q, 0, 384))).toBeLessThan(0.01));
  });
});
