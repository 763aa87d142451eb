import type { VectorIndex } from './index/vector-index';
import { yieldToLoop } from '../../common/async/wait';

// Module-scope aliases: a global lookup per loop iteration is costly in sandboxed contexts (jest's vm).
const { imul, sqrt, log, cos, log2, max, min, PI } = Math;

export interface ConsolidationPolicy {
  /** Cosine similarity at or above which two memories of one type are near-duplicates. */
  mergeSimilarity: number;
  /** Half-life of the importance of memories below `decayBelow` (ms). */
  halfLifeMs: number;
  /** Only memories less important than this decay. */
  decayBelow: number;
  /** Memories whose decayed importance falls below this are deleted (fresh ones are not: they have not decayed yet). */
  pruneBelow: number;
  /** At or past this many memories after merging and decay, the least valuable are pruned to `targetSize`. */
  maxSize: number;
  targetSize: number;
  /**
   * Most rows one consolidation deletes or rewrites (merges, decay, decay pruning), which bounds
   * its transaction (better-sqlite3 runs it on the event loop). Work past it waits for the next
   * consolidation (`truncated`). Pruning to make room when full is not limited.
   */
  maxChanges: number;
}

/** Marks a pruned row in `ConsolidationPlan.rep`. */
export const PRUNED = -1;

export interface ConsolidationPlan {
  /** Rows [0, snapshot) were planned over; rows added later are carried over untouched. */
  readonly snapshot: number;
  /** Per row: itself when kept, the kept row it is merged into, or PRUNED. */
  readonly rep: Int32Array;
  /** New importance and decay clock per kept row (other entries are meaningless). */
  readonly importance: Float64Array;
  readonly decayedAt: Float64Array;
  readonly merged: number;
  readonly decayed: number;
  readonly pruned: number;
  readonly kept: number;
  /** `maxChanges` was reached: some merges, decay or pruning were left for the next consolidation. */
  readonly truncated: boolean;
}

/** Rows compared exhaustively (against every kept row so far) below this snapshot size. */
const EXHAUSTIVE_BELOW = 1024;
/** Locality-sensitive hashing: tables × bits-per-signature random hyperplanes. */
const LSH_TABLES = 4;
const LSH_BITS = 16;
/** Kept rows remembered per LSH bucket (bounds the comparisons of a row to tables × this). */
const REPS_PER_BUCKET = 8;
const YIELD_EVERY = 1024;
const MIN_DECAY_FACTOR = 0.99;

/**
 * Plans a consolidation over the first `snapshot` rows of `index` without changing it (the index
 * stays readable and appendable meanwhile: rows below the snapshot never move). Asynchronous only
 * to yield to the event loop between chunks; it takes no lock.
 *
 * Merging is greedy and rep-based, so there are no chains: rows are visited most valuable first
 * (importance, then newest); a row within `mergeSimilarity` of an already kept row of its type is
 * merged into it, otherwise it is kept. Every merged row is therefore a near-duplicate of the row
 * it merged into (never a friend of a friend). Candidates come from exact-duplicate hashing, plus
 * all kept rows for small sets, or else random-hyperplane LSH buckets (which can miss some
 * near-duplicates; a later consolidation gets another chance as new rows change the buckets'
 * representatives — exact duplicates are never missed).
 *
 * A kept row takes the largest importance and the latest decay clock of its group; then rows below
 * `decayBelow` decay exponentially (half-life stretched by log2(2 + retrievals): memories that keep
 * being recalled fade slower), aged rows under `pruneBelow` are pruned with their group, and
 * from `maxSize` on the least valuable are pruned down to `targetSize`.
 */
export async function planConsolidation(index: VectorIndex, snapshot: number, policy: ConsolidationPolicy, now: number): Promise<ConsolidationPlan> {
  const n = min(snapshot, index.size);
  const rep = new Int32Array(n).fill(PRUNED);
  const importance = new Float64Array(n);
  const decayedAt = new Float64Array(n);
  const groupAccess = new Float64Array(n);
  const order = priorityOrder(index, n);

  const candidatesOf = n < EXHAUSTIVE_BELOW ? exhaustive() : await lsh(index, n);
  const exact = new Map<number, number>();
  // Change budget: a merge deletes a row and rewrites its kept row (once), decay rewrites a row.
  const rewritten = new Uint8Array(n);
  let changes = 0;
  let truncated = false;
  const afford = (deletes: number, rewrite: number): boolean => {
    const cost = deletes + (rewrite >= 0 && rewritten[rewrite] === 0 ? 1 : 0);
    if (changes + cost > policy.maxChanges) {
      truncated = true;
      return false;
    }
    changes += cost;
    if (rewrite >= 0) rewritten[rewrite] = 1;
    return true;
  };
  let merged = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % YIELD_EVERY === 0) await yieldToLoop();
    const row = order[i];
    if (truncated) {
      // Out of budget: no merge is affordable any more, so the rest is simply kept.
      const record = index.record(row);
      rep[row] = row;
      importance[row] = record.importance;
      decayedAt[row] = record.decayedAt;
      groupAccess[row] = record.accessCount;
      continue;
    }
    const tag = index.tagAt(row);
    const hash = vectorHash(index.vectorAt(row), tag);
    let into = -1;
    const twin = exact.get(hash);
    if (twin !== undefined && index.tagAt(twin) === tag && index.similarity(row, twin) >= policy.mergeSimilarity) into = twin;
    if (into < 0) {
      for (const kept of candidatesOf.candidates(row)) {
        if (index.tagAt(kept) === tag && index.similarity(row, kept) >= policy.mergeSimilarity) {
          into = kept;
          break;
        }
      }
    }
    const record = index.record(row);
    if (into >= 0 && afford(1, into)) {
      rep[row] = into;
      merged++;
      // Visited in priority order: the kept row already has the largest importance of its group.
      decayedAt[into] = max(decayedAt[into], record.decayedAt);
      groupAccess[into] += record.accessCount;
      continue;
    }
    rep[row] = row;
    importance[row] = record.importance;
    decayedAt[row] = record.decayedAt;
    groupAccess[row] = record.accessCount;
    if (!exact.has(hash)) exact.set(hash, row);
    candidatesOf.keep(row);
  }

  // Decay and prune the kept rows.
  let decayed = 0;
  let pruned = 0;
  const keptRows: number[] = [];
  for (let row = 0; row < n; row++) {
    if (rep[row] !== row) continue;
    // Only memories that have aged (been decayed, now or before) are pruned: a fresh memory of
    // little importance is kept until time has passed over it.
    let aged = index.record(row).decayedAt > index.createdAtAt(row);
    if (importance[row] < policy.decayBelow && now > decayedAt[row]) {
      const halfLife = policy.halfLifeMs * log2(2 + groupAccess[row]);
      const factor = 0.5 ** ((now - decayedAt[row]) / halfLife);
      // Steps under 1% wait (the clock is not advanced, so nothing is lost): frequent
      // consolidations then do not rewrite every low-importance row each time.
      if (factor < MIN_DECAY_FACTOR && afford(0, row)) {
        importance[row] *= factor;
        decayedAt[row] = now;
        decayed++;
        aged = true;
      }
    }
    if (aged && importance[row] < policy.pruneBelow && afford(1, -1)) {
      rep[row] = PRUNED;
      pruned++;
    } else {
      keptRows.push(row);
    }
  }
  if (keptRows.length >= policy.maxSize) {
    // Least valuable first: lowest importance, then oldest.
    keptRows.sort((a, b) => importance[a] - importance[b] || index.createdAtAt(a) - index.createdAtAt(b) || a - b);
    const drop = keptRows.length - min(policy.targetSize, policy.maxSize);
    for (let i = 0; i < drop; i++) rep[keptRows[i]] = PRUNED;
    pruned += drop;
  }
  // A merged row follows its kept row's fate.
  let kept = 0;
  for (let row = 0; row < n; row++) {
    if (rep[row] >= 0 && rep[row] !== row && rep[rep[row]] === PRUNED) {
      rep[row] = PRUNED;
    }
    if (rep[row] === row) kept++;
  }
  return { snapshot: n, rep, importance, decayedAt, merged, decayed, pruned, kept, truncated };
}

interface CandidateSource {
  /** Kept rows worth comparing `row` with. */
  candidates(row: number): Iterable<number>;
  keep(row: number): void;
}

function exhaustive(): CandidateSource {
  const kept: number[] = [];
  return { candidates: () => kept, keep: (row) => kept.push(row) };
}

/** Random-hyperplane LSH: a row's signature bit b of table t is the sign of its projection on plane (t, b). */
async function lsh(index: VectorIndex, n: number): Promise<CandidateSource> {
  const random = mulberry32(0x6d656d6f);
  const signatures = Array.from({ length: LSH_TABLES }, () => new Uint32Array(n));
  for (let t = 0; t < LSH_TABLES; t++) {
    for (let b = 0; b < LSH_BITS; b++) {
      const scores = index.approximateScores(gaussian(index.dims, random), n);
      const sig = signatures[t];
      for (let r = 0; r < n; r++) if (scores[r] > 0) sig[r] |= 1 << b;
      await yieldToLoop();
    }
  }
  const buckets = Array.from({ length: LSH_TABLES }, () => new Map<number, number[]>());
  return {
    *candidates(row: number) {
      for (let t = 0; t < LSH_TABLES; t++) {
        const bucket = buckets[t].get(signatures[t][row]);
        if (bucket) yield* bucket;
      }
    },
    keep(row: number) {
      for (let t = 0; t < LSH_TABLES; t++) {
        const key = signatures[t][row];
        const bucket = buckets[t].get(key);
        if (!bucket) buckets[t].set(key, [row]);
        else if (bucket.length < REPS_PER_BUCKET) bucket.push(row);
      }
    },
  };
}

/** Rows by descending importance, then newest first. */
function priorityOrder(index: VectorIndex, n: number): Int32Array {
  const rows = Array.from({ length: n }, (_, i) => i);
  const imp = new Float64Array(n);
  const created = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    imp[i] = index.importanceAt(i);
    created[i] = index.createdAtAt(i);
  }
  rows.sort((a, b) => imp[b] - imp[a] || created[b] - created[a] || b - a);
  return Int32Array.from(rows);
}

/** Hash of a row's exact float bits and tag (collisions are re-checked by similarity). */
function vectorHash(vector: Float32Array, tag: number): number {
  const bits = new Uint32Array(vector.buffer, vector.byteOffset, vector.length);
  let h = 0x811c9dc5 ^ tag;
  for (let i = 0; i < bits.length; i++) h = imul(h ^ bits[i], 0x01000193);
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(dims: number, random: () => number): Float32Array {
  const v = new Float32Array(dims);
  for (let i = 0; i < dims; i++) {
    const u = 1 - random();
    v[i] = sqrt(-2 * log(u)) * cos(2 * PI * random());
  }
  return v;
}
