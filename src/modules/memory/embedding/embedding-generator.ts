import { createHash } from 'node:crypto';
import { type Semaphore, withLock } from '../../../common/concurrency';
import type { EmbeddingInput, EmbeddingProvider } from './embedding-provider';
import { EmbeddingProviderError } from '../memory.errors';
import { LruCache, type LruStats } from './lru-cache';

/** Where a vector came from: computed for this call, the cache, or an identical computation already in flight. */
export type EmbeddingSource = 'computed' | 'cache' | 'shared';

export interface EmbeddingResult {
  /** Unit length. Shared with the cache and other callers: never mutate it. */
  readonly vector: Float32Array;
  readonly source: EmbeddingSource;
}

export interface EmbeddingGeneratorStats {
  provider: string;
  dimensions: number;
  /** Vectors computed by the provider. */
  computed: number;
  /** Calls into the provider (a batch is one call). */
  provider_calls: number;
  /** Requests that joined an identical in-flight computation. */
  shared: number;
  /** Computations in flight now. */
  in_flight: number;
  cache: LruStats;
  concurrency: { permits: number; available: number };
}

interface Pending {
  key: string;
  input: EmbeddingInput;
  resolve(vector: Float32Array): void;
  reject(error: unknown): void;
}

/**
 * docs/architecture.md §11.2, done right where the pseudo-code is naive:
 * - at most `permits` provider calls run at once (the semaphore; a wait is bounded like every
 *   lock wait and fails with LOCK_TIMEOUT instead of queueing forever);
 * - results are kept in a bounded LRU (the spec's dict grows without end), keyed by the digest
 *   of the input's canonical JSON, so key order does not matter;
 * - an input already being computed is not computed again: later callers join the promise in
 *   flight (the spec checks the cache, releases its lock and computes — N identical concurrent
 *   requests compute N times);
 * - a batch is one provider call per `maxBatch` inputs, one permit each;
 * - failures are not cached: the next request computes again.
 * The cache needs no lock: its operations are synchronous, hence atomic on the event loop.
 */
export class EmbeddingGenerator {
  private readonly cache: LruCache<string, Float32Array>;
  private readonly inflight = new Map<string, Promise<Float32Array>>();
  private computed = 0;
  private providerCalls = 0;
  private shared = 0;

  constructor(
    readonly provider: EmbeddingProvider,
    private readonly semaphore: Semaphore,
    cacheSize: number,
  ) {
    this.cache = new LruCache(cacheSize);
  }

  get dimensions(): number {
    return this.provider.dimensions;
  }

  get model(): string {
    return this.provider.name;
  }

  async embed(input: EmbeddingInput): Promise<EmbeddingResult> {
    const [result] = await this.embedMany([input]);
    return result;
  }

  /** One result per input, in order. */
  embedMany(inputs: readonly EmbeddingInput[]): Promise<EmbeddingResult[]> {
    const results: Array<Promise<EmbeddingResult>> = [];
    const misses: Pending[] = [];
    for (const input of inputs) {
      const key = cacheKey(input.canonical);
      const cached = this.cache.get(key);
      if (cached) {
        results.push(Promise.resolve({ vector: cached, source: 'cache' }));
        continue;
      }
      const running = this.inflight.get(key);
      if (running) {
        this.shared++;
        results.push(running.then((vector) => ({ vector, source: 'shared' })));
        continue;
      }
      let pending!: Pending;
      const promise = new Promise<Float32Array>((resolve, reject) => {
        pending = { key, input, resolve, reject };
      });
      // Registered before any await: an identical request arriving from now on joins it.
      this.inflight.set(key, promise);
      misses.push(pending);
      results.push(promise.then((vector) => ({ vector, source: 'computed' })));
    }
    const size = Math.max(1, this.provider.maxBatch);
    for (let i = 0; i < misses.length; i += size) void this.compute(misses.slice(i, i + size));
    return Promise.all(results);
  }

  stats(): EmbeddingGeneratorStats {
    return {
      provider: this.provider.name,
      dimensions: this.provider.dimensions,
      computed: this.computed,
      provider_calls: this.providerCalls,
      shared: this.shared,
      in_flight: this.inflight.size,
      cache: this.cache.stats(),
      concurrency: { permits: this.semaphore.permits, available: this.semaphore.available },
    };
  }

  /** Never rejects: every outcome is delivered through the pending entries. */
  private async compute(batch: Pending[]): Promise<void> {
    try {
      const vectors = await withLock(this.semaphore, () => {
        this.providerCalls++;
        return this.provider.embed(batch.map((p) => p.input));
      });
      if (!Array.isArray(vectors) || vectors.length !== batch.length) {
        throw new EmbeddingProviderError(`Embedding provider "${this.provider.name}" returned ${Array.isArray(vectors) ? vectors.length : 'no'} vectors for ${batch.length} inputs`);
      }
      const normalized = vectors.map((v) => this.normalize(v));
      this.computed += batch.length;
      batch.forEach((p, i) => {
        this.cache.set(p.key, normalized[i]);
        this.inflight.delete(p.key);
        p.resolve(normalized[i]);
      });
    } catch (error) {
      for (const p of batch) {
        this.inflight.delete(p.key);
        p.reject(error);
      }
    }
  }

  /** A private unit-length copy (the provider may reuse its buffers or skip normalizing). */
  private normalize(vector: ArrayLike<number>): Float32Array {
    if (!vector || vector.length !== this.provider.dimensions) {
      throw new EmbeddingProviderError(`Embedding provider "${this.provider.name}" returned a vector of ${vector?.length} dimensions, expected ${this.provider.dimensions}`);
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
    if (!(norm > 0) || !Number.isFinite(norm)) throw new EmbeddingProviderError(`Embedding provider "${this.provider.name}" returned a zero or non-finite vector`);
    const inv = 1 / Math.sqrt(norm);
    const out = new Float32Array(vector.length);
    for (let i = 0; i < vector.length; i++) out[i] = vector[i] * inv;
    return out;
  }
}

function cacheKey(canonical: string): string {
  return createHash('sha256').update(canonical).digest('base64');
}
