import { type ConsolidationPolicy, planConsolidation, PRUNED } from './consolidation';
import { type IndexRecord, VectorIndex } from './index/vector-index';

const DAY = 24 * 3_600_000;
const NOW = 100 * DAY;
const policy: ConsolidationPolicy = { mergeSimilarity: 0.97, halfLifeMs: 7 * DAY, decayBelow: 0.5, pruneBelow: 0.05, maxSize: 1_000_000, targetSize: 900_000, maxChanges: Infinity };

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function randomUnit(dims: number, random: () => number): Float32Array {
  return unit(Float32Array.from({ length: dims }, () => random() - 0.5));
}

/** A copy of `v` turned by a small random step (similarity ≈ 1 − step²/2). */
function nudge(v: Float32Array, step: number, random: () => number): Float32Array {
  const noise = randomUnit(v.length, random);
  return unit(v.map((x, i) => x + step * noise[i]));
}

const rec = (id: number, over: Partial<IndexRecord> = {}): IndexRecord => ({
  id,
  importance: 0.8,
  createdAt: NOW - DAY,
  decayedAt: NOW - DAY,
  accessCount: 0,
  mergedCount: 1,
  tag: 0,
  ...over,
});

describe('planConsolidation', () => {
  it('merges exact and near duplicates of one type into the most important, keeps the rest', async () => {
    const random = rng(1);
    const index = new VectorIndex(64);
    const a = randomUnit(64, random);
    const b = randomUnit(64, random);
    index.add(rec(1, { importance: 0.6 }), a);
    index.add(rec(2, { importance: 0.9 }), a); // exact duplicate, more important: kept
    index.add(rec(3, { importance: 0.7, decayedAt: NOW - 1000 }), nudge(a, 0.05, random)); // near-duplicate
    index.add(rec(4), b);
    index.add(rec(5, { tag: 1 }), a); // same vector, other type: not merged
    index.add(rec(6), nudge(b, 0.6, random)); // related but not a near-duplicate
    expect(index.similarity(2, 0)).toBeGreaterThan(0.99);
    expect(index.similarity(5, 3)).toBeLessThan(0.9);
    const plan = await planConsolidation(index, index.size, policy, NOW);
    expect(Array.from(plan.rep)).toEqual([1, 1, 1, 3, 4, 5]);
    expect(plan).toMatchObject({ snapshot: 6, merged: 2, kept: 4, pruned: 0, decayed: 0 });
    expect(plan.importance[1]).toBeCloseTo(0.9);
    expect(plan.decayedAt[1]).toBe(NOW - 1000); // the group's latest clock
  });

  it('never chains: every merged row is a near-duplicate of the row it merged into', async () => {
    const random = rng(2);
    const index = new VectorIndex(64);
    // A drifting sequence: each step is a near-duplicate of the previous one, the ends are far apart.
    let v = randomUnit(64, random);
    for (let i = 0; i < 60; i++) {
      index.add(rec(i + 1, { importance: 0.5 + random() / 2 }), v);
      v = nudge(v, 0.12, random);
    }
    const plan = await planConsolidation(index, index.size, policy, NOW);
    expect(plan.merged).toBeGreaterThan(0);
    expect(plan.kept).toBeGreaterThan(1);
    for (let row = 0; row < index.size; row++) {
      const rep = plan.rep[row];
      expect(plan.rep[rep]).toBe(rep);
      if (rep !== row) expect(index.similarity(row, rep)).toBeGreaterThanOrEqual(policy.mergeSimilarity);
    }
  });

  it('finds duplicates at scale through LSH buckets (exact duplicates always)', async () => {
    const random = rng(3);
    const index = new VectorIndex(384);
    const originals = Array.from({ length: 1500 }, () => randomUnit(384, random));
    originals.forEach((v, i) => index.add(rec(i + 1), v));
    // 300 exact duplicates and 300 very close ones.
    for (let i = 0; i < 300; i++) index.add(rec(2000 + i, { importance: 0.5 }), originals[i]);
    for (let i = 0; i < 300; i++) index.add(rec(3000 + i, { importance: 0.5 }), nudge(originals[300 + i], 0.03, random));
    const plan = await planConsolidation(index, index.size, policy, NOW);
    for (let i = 0; i < 300; i++) expect(plan.rep[1500 + i]).toBe(i);
    const nearMerged = Array.from({ length: 300 }, (_, i) => plan.rep[1800 + i] === 300 + i).filter(Boolean).length;
    expect(nearMerged).toBeGreaterThan(240);
    // Distinct random vectors are never merged.
    for (let i = 0; i < 1500; i++) expect(plan.rep[i]).toBe(i);
  });

  it('decays low-importance memories by their half-life, slower when often recalled, and prunes the faded', async () => {
    const random = rng(4);
    const index = new VectorIndex(32);
    index.add(rec(1, { importance: 0.4, decayedAt: NOW - 7 * DAY }), randomUnit(32, random)); // one half-life
    index.add(rec(2, { importance: 0.4, decayedAt: NOW - 7 * DAY, accessCount: 2 }), randomUnit(32, random)); // half-life × log2(4) = 2×
    index.add(rec(3, { importance: 0.9, decayedAt: NOW - 70 * DAY }), randomUnit(32, random)); // important: no decay
    index.add(rec(4, { importance: 0.2, decayedAt: NOW - 28 * DAY }), randomUnit(32, random)); // 0.2/16 < 0.05: pruned
    index.add(rec(5, { importance: 0.3, decayedAt: NOW - 60_000 }), randomUnit(32, random)); // < 1% step: waits
    index.add(rec(6, { importance: 0.01, createdAt: NOW - 60_000, decayedAt: NOW - 60_000 }), randomUnit(32, random)); // fresh: kept however unimportant
    const plan = await planConsolidation(index, index.size, policy, NOW);
    expect(plan.importance[0]).toBeCloseTo(0.2, 6);
    expect(plan.decayedAt[0]).toBe(NOW);
    expect(plan.importance[1]).toBeCloseTo(0.4 / Math.SQRT2, 6);
    expect(plan.importance[2]).toBeCloseTo(0.9, 6);
    expect(plan.decayedAt[2]).toBe(NOW - 70 * DAY);
    expect(plan.rep[3]).toBe(PRUNED);
    expect(plan.importance[4]).toBeCloseTo(0.3, 6);
    expect(plan.decayedAt[4]).toBe(NOW - 60_000);
    expect(plan.rep[5]).toBe(5);
    expect(plan).toMatchObject({ decayed: 3, pruned: 1, kept: 5 });
  });

  it('past maxSize prunes the least valuable down to targetSize; merged rows follow their kept row', async () => {
    const random = rng(5);
    const index = new VectorIndex(32);
    const shared = randomUnit(32, random);
    index.add(rec(1, { importance: 0.55 }), shared);
    index.add(rec(2, { importance: 0.55 }), shared); // equal importance: the newer row (slot 1) is kept, slot 0 merges into it
    for (let i = 0; i < 8; i++) index.add(rec(10 + i, { importance: 0.6 + i / 100 }), randomUnit(32, random));
    const plan = await planConsolidation(index, index.size, { ...policy, maxSize: 6, targetSize: 5 }, NOW);
    expect(plan.rep[0]).toBe(PRUNED); // its group's kept row (row 1) was the least valuable
    expect(plan.rep[1]).toBe(PRUNED);
    expect(plan.kept).toBe(5);
    expect(Array.from(plan.rep.slice(2, 5))).toEqual([PRUNED, PRUNED, PRUNED]);
    expect(Array.from(plan.rep.slice(5))).toEqual([5, 6, 7, 8, 9]);
  });

  it('stops at the change budget, leaving the rest for the next consolidation', async () => {
    const random = rng(7);
    const index = new VectorIndex(32);
    const groups = Array.from({ length: 5 }, () => randomUnit(32, random));
    for (let copy = 0; copy < 4; copy++) groups.forEach((v, g) => index.add(rec(copy * 10 + g + 1), v));
    // Newest first: the five of copy 3 are kept; a first merge into a group costs 2 (a delete and
    // the kept row's rewrite). Budget 9: four such merges (8); the fifth does not fit, and from
    // there on the rest is kept as it is.
    const plan = await planConsolidation(index, index.size, { ...policy, maxChanges: 9 }, NOW);
    expect(plan).toMatchObject({ merged: 4, kept: 16, truncated: true });
    const full = await planConsolidation(index, index.size, policy, NOW);
    expect(full).toMatchObject({ merged: 15, kept: 5, truncated: false });
  });

  it('plans only over the snapshot, leaving later rows alone', async () => {
    const random = rng(6);
    const index = new VectorIndex(32);
    const v = randomUnit(32, random);
    index.add(rec(1), v);
    index.add(rec(2), v);
    const plan = await planConsolidation(index, 1, policy, NOW);
    expect(plan.snapshot).toBe(1);
    expect(Array.from(plan.rep)).toEqual([0]);
  });
});
