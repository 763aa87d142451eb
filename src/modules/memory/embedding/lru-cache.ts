export interface LruStats {
  size: number;
  capacity: number;
  hits: number;
  misses: number;
  evictions: number;
}

/**
 * Bounded least-recently-used cache on a Map (which iterates in insertion order: a hit re-inserts
 * its key at the end, eviction drops the first key). O(1) get and set. Capacity 0 disables it.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`LRU capacity must be a non-negative integer, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Whether the key is cached, without touching its recency or the counters. */
  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
      this.evictions++;
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  stats(): LruStats {
    return { size: this.map.size, capacity: this.capacity, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
