import { createWasmMemory, type Dots8, instantiateDots8, int8DotModule, MAX_KERNEL_STRIDE, WASM_PAGE_BYTES, type WasmMemory, type WasmModule } from './int8-dot-kernel';
import { type Scored, TopK } from './top-k';

// Module-scope aliases: a global lookup per loop iteration is costly in sandboxed contexts (jest's vm).
const { abs, round, ceil, max, min, sqrt, floor } = Math;

/** What the index keeps per memory besides its vector (all of it fixed-size, in typed arrays). */
export interface IndexRecord {
  id: number;
  importance: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms up to which the importance has been decayed. */
  decayedAt: number;
  accessCount: number;
  /** How many stored memories this one stands for (1 + the near-duplicates merged into it). */
  mergedCount: number;
  /** Small integer tag (the memory type's code); near-duplicates only merge within one tag. */
  tag: number;
}

export interface SearchHit {
  slot: number;
  id: number;
  /** Cosine similarity (vectors are unit length), exact: computed on the float32 vectors. */
  similarity: number;
}

export interface VectorIndexOptions {
  initialCapacity?: number;
  /** Use the WebAssembly SIMD int8 coarse scan where available (default true). */
  simd?: boolean;
  /**
   * Most rows re-ranked exactly per query (default 8192). Beyond it, which rows get re-ranked is
   * decided by the coarse scores, so a query could in principle miss a row within the coarse
   * error of the k-th best; `stats.inexactSearches` counts such queries.
   */
  maxRerank?: number;
}

export interface IndexMemoryUsage {
  /** float32 vectors (capacity × dims × 4). */
  vectors: number;
  /** WebAssembly memory: int8 codes, query and score scratch. */
  codes: number;
  /** Per-row metadata arrays. */
  metadata: number;
  /** id → slot map, estimated (~48 bytes an entry). */
  idMapEstimate: number;
  /** Payload strings (the events' JSON), estimated: their length plus a string header each. */
  payloadsEstimate: number;
  total: number;
}

/** Below this many rows a plain float32 scan is as fast as the two-stage search. */
const EXACT_SCAN_BELOW = 512;
const MIN_CAPACITY = 256;

/**
 * One session's memories for similarity search: every unit vector in one contiguous Float32Array
 * (row i at [i × dims, (i + 1) × dims)), per-row metadata in parallel typed arrays, an optional
 * payload string per row (the event's JSON: a search answers without touching the database),
 * and an int8 copy of the vectors in WebAssembly memory for the SIMD coarse scan.
 *
 * Append-only: rows are only ever added (a new id) — removal happens by building a new index
 * (consolidation) and swapping it in whole, so slots are stable and in insertion (= id) order.
 * All methods are synchronous: a search or an add is atomic with respect to other async flows.
 */
export class VectorIndex {
  private n = 0;
  private cap = 0;
  private vectors = new Float32Array(0);
  private ids = new Float64Array(0);
  private importance = new Float64Array(0);
  private createdAt = new Float64Array(0);
  private decayedAt = new Float64Array(0);
  private access = new Float64Array(0);
  private merged = new Uint32Array(0);
  private tags = new Uint8Array(0);
  private readonly payloads: string[] = [];
  private payloadChars = 0;
  private readonly slotOf = new Map<number, number>();
  private readonly codes: QuantizedCodes | null;
  private readonly maxRerank: number;
  private readonly sqrtDims: number;
  readonly stats = { searches: 0, coarseSearches: 0, reranked: 0, inexactSearches: 0 };

  constructor(
    readonly dims: number,
    options: VectorIndexOptions = {},
  ) {
    if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    this.maxRerank = max(1, options.maxRerank ?? 8192);
    this.sqrtDims = sqrt(dims);
    const module = options.simd === false ? null : int8DotModule();
    const stride = ceil(dims / 32) * 32;
    this.codes = module && stride <= MAX_KERNEL_STRIDE ? new QuantizedCodes(module, dims, stride) : null;
    this.grow(max(MIN_CAPACITY, options.initialCapacity ?? 0));
  }

  get size(): number {
    return this.n;
  }

  get capacity(): number {
    return this.cap;
  }

  /** Whether searches use the SIMD coarse scan. */
  get simd(): boolean {
    return this.codes !== null;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  slot(id: number): number | undefined {
    return this.slotOf.get(id);
  }

  /**
   * Appends a row; the vector is copied (and must be unit length). An id already present is
   * ignored (returns false), which keeps a replayed add idempotent.
   */
  add(record: IndexRecord, vector: ArrayLike<number>, payload = ''): boolean {
    if (vector.length !== this.dims) throw new RangeError(`vector has ${vector.length} dimensions, the index ${this.dims}`);
    if (this.slotOf.has(record.id)) return false;
    if (this.n === this.cap) this.grow(ceil(this.cap * 1.5));
    const slot = this.n++;
    this.vectors.set(vector, slot * this.dims);
    this.ids[slot] = record.id;
    this.importance[slot] = record.importance;
    this.createdAt[slot] = record.createdAt;
    this.decayedAt[slot] = record.decayedAt;
    this.access[slot] = record.accessCount;
    this.merged[slot] = record.mergedCount;
    this.tags[slot] = record.tag;
    this.payloads.push(payload);
    this.payloadChars += payload.length;
    this.codes?.set(slot, this.vectors.subarray(slot * this.dims, (slot + 1) * this.dims));
    this.slotOf.set(record.id, slot);
    return true;
  }

  /** Makes room for `capacity` rows without further reallocation. */
  reserve(capacity: number): void {
    if (capacity > this.cap) this.grow(capacity);
  }

  idAt(slot: number): number {
    return this.ids[this.check(slot)];
  }

  record(slot: number): IndexRecord {
    this.check(slot);
    return {
      id: this.ids[slot],
      importance: this.importance[slot],
      createdAt: this.createdAt[slot],
      decayedAt: this.decayedAt[slot],
      accessCount: this.access[slot],
      mergedCount: this.merged[slot],
      tag: this.tags[slot],
    };
  }

  importanceAt(slot: number): number {
    return this.importance[this.check(slot)];
  }

  createdAtAt(slot: number): number {
    return this.createdAt[this.check(slot)];
  }

  accessCountAt(slot: number): number {
    return this.access[this.check(slot)];
  }

  tagAt(slot: number): number {
    return this.tags[this.check(slot)];
  }

  payloadAt(slot: number): string {
    return this.payloads[this.check(slot)];
  }

  /**
   * A view of a row's vector. Read-only by contract, and only valid until the next `add`
   * (which may reallocate): use it synchronously.
   */
  vectorAt(slot: number): Float32Array {
    this.check(slot);
    return this.vectors.subarray(slot * this.dims, (slot + 1) * this.dims);
  }

  /** Counts `times` retrievals of the row. */
  touch(slot: number, times = 1): void {
    this.access[this.check(slot)] += times;
  }

  /** Exact cosine similarity of two rows. */
  similarity(a: number, b: number): number {
    return clamp(dotRows(this.vectors, this.check(a) * this.dims, this.vectors, this.check(b) * this.dims, this.dims));
  }

  /**
   * The k rows most similar to `query` (a unit vector), best first; ties go to the newer row.
   *
   * Two stages: the SIMD int8 scan gives every row an approximate score with a proven error
   * bound ε_r (rounding of the row and of the query); the k-th best lower bound (score − ε) is a
   * floor under the true k-th best similarity, so only rows whose upper bound reaches it can be in
   * the top k. Those (typically a few hundred) are re-ranked with the float32 vectors. The result
   * is the exact top k unless more than `maxRerank` rows tie within the error bound.
   */
  search(query: ArrayLike<number>, k: number): SearchHit[] {
    if (query.length !== this.dims) throw new RangeError(`query has ${query.length} dimensions, the index ${this.dims}`);
    const n = this.n;
    k = min(floor(k), n);
    this.stats.searches++;
    if (k < 1) return [];
    const q = query instanceof Float32Array ? query : Float32Array.from(query);
    const top = new TopK(k);
    if (this.codes === null || n < EXACT_SCAN_BELOW) {
      for (let r = 0; r < n; r++) top.push(dotRows(this.vectors, r * this.dims, q, 0, this.dims), r);
      return this.hits(top.drain());
    }
    this.stats.coarseSearches++;
    const { raw, inv, qInv, qL1 } = this.codes.scan(q, n);
    const a = 0.5 * qL1 + 0.25 * this.dims * qInv;
    const b = 0.5 * this.sqrtDims * qInv + 1e-6;
    // Pass 1: the k-th best lower bound.
    const lower = new TopK(k);
    let bar = -Infinity;
    for (let r = 0; r < n; r++) {
      const low = raw[r] * inv[r] * qInv - (inv[r] * a + b);
      if (low > bar) {
        lower.push(low, r);
        bar = lower.threshold;
      }
    }
    // Pass 2: every row that can still reach it.
    let candidates = new Int32Array(min(n, 1024));
    let count = 0;
    for (let r = 0; r < n; r++) {
      if (raw[r] * inv[r] * qInv + (inv[r] * a + b) >= bar) {
        if (count === candidates.length) {
          const bigger = new Int32Array(min(n, candidates.length * 2));
          bigger.set(candidates);
          candidates = bigger;
        }
        candidates[count++] = r;
      }
    }
    if (count > this.maxRerank) {
      this.stats.inexactSearches++;
      const coarse = new TopK(this.maxRerank);
      for (let i = 0; i < count; i++) coarse.push(raw[candidates[i]] * inv[candidates[i]], candidates[i]);
      const kept = coarse.drain();
      count = kept.length;
      for (let i = 0; i < count; i++) candidates[i] = kept[i].slot;
    }
    this.stats.reranked += count;
    for (let i = 0; i < count; i++) {
      const r = candidates[i];
      top.push(dotRows(this.vectors, r * this.dims, q, 0, this.dims), r);
    }
    return this.hits(top.drain());
  }

  /**
   * Approximate similarity of `query` with each of the first `rows` rows (SIMD coarse scores, or
   * exact where SIMD is off). For bulk work such as locality-sensitive hashing.
   */
  approximateScores(query: ArrayLike<number>, rows = this.n): Float32Array {
    const n = min(rows, this.n);
    const out = new Float32Array(n);
    const q = query instanceof Float32Array ? query : Float32Array.from(query);
    if (this.codes === null) {
      for (let r = 0; r < n; r++) out[r] = dotRows(this.vectors, r * this.dims, q, 0, this.dims);
      return out;
    }
    const { raw, inv, qInv } = this.codes.scan(q, n);
    for (let r = 0; r < n; r++) out[r] = raw[r] * inv[r] * qInv;
    return out;
  }

  memoryUsage(): IndexMemoryUsage {
    const vectors = this.vectors.byteLength;
    const codes = this.codes?.bytes ?? 0;
    const metadata =
      this.ids.byteLength +
      this.importance.byteLength +
      this.createdAt.byteLength +
      this.decayedAt.byteLength +
      this.access.byteLength +
      this.merged.byteLength +
      this.tags.byteLength;
    const idMapEstimate = this.slotOf.size * 48;
    const payloadsEstimate = this.payloadChars + this.payloads.length * 24;
    return { vectors, codes, metadata, idMapEstimate, payloadsEstimate, total: vectors + codes + metadata + idMapEstimate + payloadsEstimate };
  }

  private hits(scored: Scored[]): SearchHit[] {
    return scored.map(({ slot, score }) => ({ slot, id: this.ids[slot], similarity: clamp(score) }));
  }

  private check(slot: number): number {
    if (!(slot >= 0 && slot < this.n) || !Number.isInteger(slot)) throw new RangeError(`slot ${slot} out of range [0, ${this.n})`);
    return slot;
  }

  private grow(capacity: number): void {
    const copy = <T extends Float32Array | Float64Array | Uint32Array | Uint8Array>(old: T, make: (len: number) => T, width: number): T => {
      const next = make(capacity * width);
      next.set(old.subarray(0, this.n * width) as never);
      return next;
    };
    this.vectors = copy(this.vectors, (l) => new Float32Array(l), this.dims);
    this.ids = copy(this.ids, (l) => new Float64Array(l), 1);
    this.importance = copy(this.importance, (l) => new Float64Array(l), 1);
    this.createdAt = copy(this.createdAt, (l) => new Float64Array(l), 1);
    this.decayedAt = copy(this.decayedAt, (l) => new Float64Array(l), 1);
    this.access = copy(this.access, (l) => new Float64Array(l), 1);
    this.merged = copy(this.merged, (l) => new Uint32Array(l), 1);
    this.tags = copy(this.tags, (l) => new Uint8Array(l), 1);
    this.codes?.ensureCapacity(capacity);
    this.cap = capacity;
  }
}

/** Dot product of two float32 rows, four accumulators (the JIT keeps them in registers). */
export function dotRows(a: Float32Array, aBase: number, b: Float32Array, bBase: number, dims: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < dims; j += 4) {
    s0 += a[aBase + j] * b[bBase + j];
    s1 += a[aBase + j + 1] * b[bBase + j + 1];
    s2 += a[aBase + j + 2] * b[bBase + j + 2];
    s3 += a[aBase + j + 3] * b[bBase + j + 3];
  }
  for (; j < dims; j++) s0 += a[aBase + j] * b[bBase + j];
  return s0 + s1 + s2 + s3;
}

function clamp(x: number): number {
  return x > 1 ? 1 : x < -1 ? -1 : x;
}

/**
 * int8 copies of the rows in WebAssembly memory: row i at [i × stride, (i + 1) × stride) (zero
 * padded), each scaled so its largest component is ±127 (`inv[i]` = 1 / scale). After the rows:
 * the int16 query and the int32 scores. Growing keeps the rows in place (they start at 0).
 */
class QuantizedCodes {
  private readonly memory: WasmMemory;
  private readonly dots: Dots8;
  private capacity = 0;
  private codes = new Int8Array(0);
  inv = new Float32Array(0);
  private queryOffset = 0;
  private scoresOffset = 0;

  constructor(
    module: WasmModule,
    private readonly dims: number,
    private readonly stride: number,
  ) {
    this.memory = createWasmMemory(1);
    this.dots = instantiateDots8(module, this.memory);
  }

  get bytes(): number {
    return this.memory.buffer.byteLength + this.inv.byteLength;
  }

  ensureCapacity(capacity: number): void {
    if (capacity <= this.capacity) return;
    const queryOffset = capacity * this.stride;
    const scoresOffset = queryOffset + this.stride * 2;
    const pages = ceil((scoresOffset + capacity * 4) / WASM_PAGE_BYTES);
    const current = this.memory.buffer.byteLength / WASM_PAGE_BYTES;
    if (pages > current) this.memory.grow(pages - current);
    const inv = new Float32Array(capacity);
    inv.set(this.inv);
    this.inv = inv;
    this.capacity = capacity;
    this.queryOffset = queryOffset;
    this.scoresOffset = scoresOffset;
    this.codes = new Int8Array(this.memory.buffer, 0, capacity * this.stride);
  }

  set(slot: number, vector: Float32Array): void {
    let peak = 0;
    for (let j = 0; j < this.dims; j++) {
      const m = abs(vector[j]);
      if (m > peak) peak = m;
    }
    const scale = peak > 0 ? 127 / peak : 0;
    const base = slot * this.stride;
    for (let j = 0; j < this.dims; j++) this.codes[base + j] = round(vector[j] * scale);
    this.codes.fill(0, base + this.dims, base + this.stride);
    this.inv[slot] = peak > 0 ? peak / 127 : 0;
  }

  /** Raw int32 dot products of the quantized query with rows [0, rows); views valid until the next call. */
  scan(query: Float32Array, rows: number): { raw: Int32Array; inv: Float32Array; qInv: number; qL1: number } {
    let peak = 0;
    let l1 = 0;
    for (let j = 0; j < this.dims; j++) {
      const m = abs(query[j]);
      l1 += m;
      if (m > peak) peak = m;
    }
    const scale = peak > 0 ? 32767 / peak : 0;
    const q16 = new Int16Array(this.memory.buffer, this.queryOffset, this.stride);
    for (let j = 0; j < this.dims; j++) q16[j] = round(query[j] * scale);
    q16.fill(0, this.dims);
    this.dots(0, this.queryOffset, rows, this.stride, this.scoresOffset);
    return {
      raw: new Int32Array(this.memory.buffer, this.scoresOffset, rows),
      inv: this.inv,
      qInv: peak > 0 ? 1 / scale : 0,
      qL1: l1,
    };
  }
}
