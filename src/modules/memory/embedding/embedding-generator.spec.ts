import { createLockManager, LockOrder, LockTimeoutError } from '../../../common/concurrency';
import { deferred, flushMicrotasks, type Deferred } from '../../../common/concurrency/concurrency.test-kit';
import { EmbeddingProviderError } from '../memory.errors';
import { embeddingInput } from './canonical-json';
import { EmbeddingGenerator } from './embedding-generator';
import type { EmbeddingInput, EmbeddingProvider, JsonValue } from './embedding-provider';

const DIMS = 8;

/**
 * Counts calls and vectors; each call waits on a gate the test opens (or none when `gated` is
 * false). The vector of an input is a deterministic function of its canonical text.
 */
class CountingProvider implements EmbeddingProvider {
  readonly name = 'counting';
  readonly dimensions = DIMS;
  calls: string[][] = [];
  running = 0;
  maxRunning = 0;
  gates: Array<Deferred<void>> = [];
  failNext: unknown = undefined;
  output: ((inputs: readonly EmbeddingInput[]) => Float32Array[]) | undefined;

  constructor(
    readonly maxBatch = 16,
    public gated = false,
  ) {}

  async embed(inputs: readonly EmbeddingInput[]): Promise<Float32Array[]> {
    this.calls.push(inputs.map((i) => i.canonical));
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.gated) {
        const gate = deferred();
        this.gates.push(gate);
        await gate.promise;
      }
      if (this.failNext !== undefined) {
        const err = this.failNext;
        this.failNext = undefined;
        throw err;
      }
      if (this.output) return this.output(inputs);
      return inputs.map((i) => vectorOf(i.canonical));
    } finally {
      this.running--;
    }
  }

  get vectors(): number {
    return this.calls.reduce((n, c) => n + c.length, 0);
  }

  openAll(): void {
    for (const g of this.gates.splice(0)) g.resolve();
  }
}

function vectorOf(text: string): Float32Array {
  const v = new Float32Array(DIMS);
  for (let i = 0; i < text.length; i++) v[i % DIMS] += text.charCodeAt(i);
  return v; // not normalized: the generator must do it
}

const input = (v: JsonValue) => embeddingInput(v);

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await flushMicrotasks();
  expect(condition()).toBe(true);
}

describe('EmbeddingGenerator', () => {
  const make = (provider: CountingProvider, permits = 5, cacheSize = 100) => {
    const locks = createLockManager();
    return new EmbeddingGenerator(provider, locks.semaphore('embedding', LockOrder.EMBEDDING, permits), cacheSize);
  };

  it('serves a repeated input from the cache: computed once, same unit vector', async () => {
    const provider = new CountingProvider();
    const gen = make(provider);
    const first = await gen.embed(input({ type: 'kill', monster: 'Poring' }));
    const again = await gen.embed(input({ monster: 'Poring', type: 'kill' })); // same value, other key order
    expect(first.source).toBe('computed');
    expect(again.source).toBe('cache');
    expect(again.vector).toBe(first.vector);
    expect(provider.calls).toHaveLength(1);
    expect(Math.hypot(...first.vector)).toBeCloseTo(1, 6);
    expect(gen.stats()).toMatchObject({ computed: 1, provider_calls: 1, cache: { size: 1, hits: 1, misses: 1 } });
  });

  it('keeps the cache bounded (LRU): an evicted input is computed again', async () => {
    const provider = new CountingProvider();
    const gen = make(provider, 5, 2);
    await gen.embed(input({ n: 'a' }));
    await gen.embed(input({ n: 'b' }));
    await gen.embed(input({ n: 'a' })); // refreshes a
    await gen.embed(input({ n: 'c' })); // evicts b
    expect(provider.vectors).toBe(3);
    expect((await gen.embed(input({ n: 'a' }))).source).toBe('cache');
    expect((await gen.embed(input({ n: 'b' }))).source).toBe('computed');
    expect(provider.vectors).toBe(4);
    expect(gen.stats().cache).toMatchObject({ size: 2, capacity: 2, evictions: 2 });
  });

  it('computes identical concurrent requests once (in-flight dedupe)', async () => {
    const provider = new CountingProvider(16, true);
    const gen = make(provider);
    const requests = Array.from({ length: 10 }, () => gen.embed(input({ type: 'death', map: 'gef_dun01' })));
    await until(() => provider.gates.length === 1);
    expect(gen.stats().in_flight).toBe(1);
    provider.openAll();
    const results = await Promise.all(requests);
    expect(provider.calls).toEqual([[input({ type: 'death', map: 'gef_dun01' }).canonical]]);
    expect(results.map((r) => r.source)).toEqual(['computed', ...new Array(9).fill('shared')]);
    for (const r of results) expect(r.vector).toBe(results[0].vector);
    expect(gen.stats()).toMatchObject({ in_flight: 0, shared: 9, computed: 1 });
  });

  it('runs at most `permits` provider calls at once and queues the rest', async () => {
    const provider = new CountingProvider(16, true);
    const gen = make(provider, 2);
    const all = Promise.all(Array.from({ length: 6 }, (_, i) => gen.embed(input({ i }))));
    await until(() => provider.gates.length === 2);
    await flushMicrotasks();
    expect(provider.running).toBe(2);
    expect(gen.stats().concurrency).toEqual({ permits: 2, available: 0 });
    for (let round = 0; round < 100 && (provider.calls.length < 6 || provider.gates.length > 0); round++) {
      provider.openAll();
      await flushMicrotasks();
    }
    const results = await all;
    expect(results).toHaveLength(6);
    expect(provider.maxRunning).toBe(2);
    expect(gen.stats().concurrency.available).toBe(2);
  });

  it('embeds a batch with one provider call per maxBatch, deduplicating within it and against the cache', async () => {
    const provider = new CountingProvider(3);
    const gen = make(provider);
    await gen.embed(input({ k: 'cached' }));
    const batch = [{ k: 1 }, { k: 2 }, { k: 'cached' }, { k: 1 }, { k: 3 }, { k: 4 }, { k: 5 }].map((v) => input(v));
    const results = await gen.embedMany(batch);
    expect(results.map((r) => r.source)).toEqual(['computed', 'computed', 'cache', 'shared', 'computed', 'computed', 'computed']);
    expect(provider.calls.map((c) => c.length)).toEqual([1, 3, 2]);
    expect(results[3].vector).toBe(results[0].vector);
  });

  it('does not cache failures: the next request computes again', async () => {
    const provider = new CountingProvider();
    const gen = make(provider);
    provider.failNext = new Error('encoder crashed');
    const a = gen.embed(input({ x: 1 }));
    const b = gen.embed(input({ x: 1 })); // joins the failing computation
    await expect(a).rejects.toThrow('encoder crashed');
    await expect(b).rejects.toThrow('encoder crashed');
    expect(gen.stats().in_flight).toBe(0);
    expect((await gen.embed(input({ x: 1 }))).source).toBe('computed');
    expect(provider.calls).toHaveLength(2);
  });

  it('rejects provider output that breaks the contract', async () => {
    const provider = new CountingProvider();
    const gen = make(provider);
    provider.output = () => [new Float32Array(DIMS - 1)];
    await expect(gen.embed(input({ bad: 'dims' }))).rejects.toBeInstanceOf(EmbeddingProviderError);
    provider.output = () => [new Float32Array(DIMS)];
    await expect(gen.embed(input({ bad: 'zero' }))).rejects.toThrow(/zero or non-finite/);
    provider.output = () => [];
    await expect(gen.embed(input({ bad: 'count' }))).rejects.toThrow(/returned 0 vectors for 1 inputs/);
    expect(gen.stats().cache.size).toBe(0);
  });

  it('bounds the wait for a permit (LOCK_TIMEOUT), leaving nothing in flight', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const provider = new CountingProvider(16, true);
      const gen = make(provider, 1);
      const holder = gen.embed(input({ slow: 1 }));
      await until(() => provider.gates.length === 1);
      const waiter = gen.embed(input({ slow: 2 }));
      const outcome = waiter.then(
        () => 'resolved',
        (e: unknown) => e,
      );
      await jest.advanceTimersByTimeAsync(5_001);
      expect(await outcome).toBeInstanceOf(LockTimeoutError);
      expect(gen.stats().in_flight).toBe(1);
      provider.openAll();
      await holder;
      expect(gen.stats().in_flight).toBe(0);
      expect(provider.calls).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
