import fc from 'fast-check';
import { yieldToLoop } from '../../common/async/wait';
import { FEATURE_COUNT } from './ml.constants';
import { TrainingBuffer, type TrainingSample, type TrainingSink } from './training-buffer';
import { toSample } from './training-data.service';

let nextId = 0;
function sample(): TrainingSample {
  nextId += 1;
  // The sample's identity rides in its reward, so tests can count each one.
  return { features: new Array<number>(FEATURE_COUNT).fill(0), action: 'ATTACK', reward: nextId, success: true, sessionId: null, source: 'api', modelVersion: null, createdAt: 0 };
}

/** A sink whose writes stay pending until the test settles them, recording what committed. */
class ControlledSink implements TrainingSink {
  readonly committed: number[] = [];
  readonly pending: Array<{ batch: readonly TrainingSample[]; resolve: () => void; reject: (e: Error) => void }> = [];
  writes = 0;

  write(batch: readonly TrainingSample[]): Promise<void> {
    this.writes += 1;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        batch,
        resolve: () => {
          this.committed.push(...batch.map((s) => s.reward));
          resolve();
        },
        reject,
      });
    });
  }

  async settleNext(ok = true): Promise<void> {
    await this.started();
    const next = this.pending.shift();
    if (!next) throw new Error('no write pending');
    if (ok) next.resolve();
    else next.reject(new Error('SQLITE_BUSY'));
    // Let the flusher react (take the next batch, or stop).
    await flushMicrotasks();
  }

  /** A flush starts its first write a microtask after it is asked for, a later one after a turn of the loop. */
  async started(): Promise<void> {
    for (let i = 0; i < 10 && this.pending.length === 0; i++) await Promise.resolve();
    if (this.pending.length === 0) await yieldToLoop();
    for (let i = 0; i < 10 && this.pending.length === 0; i++) await Promise.resolve();
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** An immediate sink. */
class MemorySink implements TrainingSink {
  readonly committed: number[] = [];
  batches: number[] = [];
  async write(batch: readonly TrainingSample[]): Promise<void> {
    await Promise.resolve();
    this.batches.push(batch.length);
    this.committed.push(...batch.map((s) => s.reward));
  }
}

function ids(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

describe('TrainingBuffer', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('flushes by itself when half full, in batches of at most batchSize', async () => {
    const sink = new MemorySink();
    const buffer = new TrainingBuffer(sink, { capacity: 10, batchSize: 2, flushIntervalMs: 0 });
    const first = nextId + 1;
    for (let i = 0; i < 4; i++) buffer.add(sample());
    expect(sink.committed).toEqual([]);
    buffer.add(sample()); // 5 = half of 10
    await buffer.flush();
    expect(sink.committed).toEqual(ids(first, 5));
    expect(sink.batches.every((n) => n <= 2)).toBe(true);
    expect(buffer.stats()).toMatchObject({ size: 0, accepted: 5, written: 5, dropped: 0 });
  });

  it('gives the event loop a turn between two batches (each is a transaction on it)', async () => {
    const events: string[] = [];
    const sink: TrainingSink = {
      write: async (batch) => {
        events.push(`batch ${batch.length}`);
        if (events.length === 1) setImmediate(() => events.push('loop turn'));
        await Promise.resolve();
      },
    };
    const buffer = new TrainingBuffer(sink, { capacity: 100, batchSize: 3, flushIntervalMs: 0 });
    for (let i = 0; i < 7; i++) buffer.add(sample());
    await buffer.flush();
    expect(events).toEqual(['batch 3', 'loop turn', 'batch 3', 'batch 1']);
  });

  it('drops and counts when full, never blocking the caller', async () => {
    const sink = new ControlledSink();
    const buffer = new TrainingBuffer(sink, { capacity: 4, batchSize: 10, flushIntervalMs: 0 });
    const results = Array.from({ length: 10 }, () => buffer.add(sample()));
    expect(results.filter(Boolean)).toHaveLength(4);
    expect(buffer.stats()).toMatchObject({ size: 4, accepted: 4, dropped: 6 });
    // Half full asked for a flush; its write stays pending. Single flusher: one write in flight.
    await sink.started();
    expect(sink.writes).toBe(1);
    expect(sink.pending[0].batch).toHaveLength(4);
    const more = Array.from({ length: 6 }, () => buffer.add(sample()));
    expect(more.filter(Boolean)).toHaveLength(4);
    expect(sink.writes).toBe(1);
    expect(buffer.stats()).toMatchObject({ size: 4, accepted: 8, dropped: 8, flushing: true });
    await sink.settleNext();
    // The write finished with the buffer half full again: the next flush follows on its own.
    await sink.settleNext();
    expect(sink.committed).toHaveLength(8);
  });

  it('samples added during a flush are neither lost nor written twice', async () => {
    const sink = new ControlledSink();
    const buffer = new TrainingBuffer(sink, { capacity: 100, batchSize: 3, flushIntervalMs: 0 });
    const first = nextId + 1;
    for (let i = 0; i < 5; i++) buffer.add(sample());
    const done = buffer.flush();
    await sink.started();
    expect(sink.pending[0].batch).toHaveLength(3);
    // While the first batch is in flight: more samples, and a second flush request that joins.
    for (let i = 0; i < 4; i++) buffer.add(sample());
    const joined = buffer.flush();
    expect(sink.writes).toBe(1);
    await sink.settleNext(); // batch 1: 3
    await sink.settleNext(false); // batch 2 fails: back to the buffer, in order
    expect(await done).toBe(false);
    expect(await joined).toBe(false);
    expect(buffer.stats()).toMatchObject({ size: 6, failed_batches: 1, written: 3 });
    const retry = buffer.flush();
    await sink.settleNext();
    await sink.settleNext();
    expect(await retry).toBe(true);
    expect(sink.committed).toEqual(ids(first, 9));
  });

  it('property: whatever interleaving of adds, flushes, successes and failures, each accepted sample is written exactly once', async () => {
    type Op = { kind: 'add'; n: number } | { kind: 'flush' } | { kind: 'settle'; ok: boolean };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 1, max: 7 }) }),
      fc.constant({ kind: 'flush' as const }),
      fc.record({ kind: fc.constant('settle' as const), ok: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 5 }), async (ops, capacity, batchSize) => {
        const sink = new ControlledSink();
        let clock = 0;
        const buffer = new TrainingBuffer(sink, { capacity, batchSize, flushIntervalMs: 0, retryPauseMs: 0, now: () => clock++ });
        const accepted: number[] = [];
        let refused = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            for (let i = 0; i < o.n; i++) {
              const s = sample();
              if (buffer.add(s)) accepted.push(s.reward);
              else refused += 1;
            }
          } else if (o.kind === 'flush') void buffer.flush();
          else if (sink.pending.length) await sink.settleNext(o.ok);
        }
        // Drain: settle everything successfully, then close.
        const closing = buffer.close();
        while (sink.pending.length || buffer.stats().flushing) {
          if (sink.pending.length) await sink.settleNext(true);
          // A turn of the loop: the flusher yields between batches.
          else await yieldToLoop();
        }
        expect(await closing).toBe(true);
        const stats = buffer.stats();
        const written = [...sink.committed].sort((a, b) => a - b);
        expect(new Set(written).size).toBe(written.length); // never twice
        expect(written.every((id) => accepted.includes(id))).toBe(true);
        // Every accepted sample was written, except those counted as dropped when a failed batch
        // no longer fitted back into a refilled buffer.
        const droppedOnRequeue = stats.dropped - refused;
        expect(droppedOnRequeue).toBeGreaterThanOrEqual(0);
        expect(written.length + droppedOnRequeue).toBe(accepted.length);
        expect(stats.written).toBe(written.length);
        expect(stats.size).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('flushes on the interval (fake timers)', async () => {
    jest.useFakeTimers();
    const sink = new MemorySink();
    const buffer = new TrainingBuffer(sink, { capacity: 1000, batchSize: 100, flushIntervalMs: 5_000 });
    buffer.start();
    buffer.add(sample());
    buffer.add(sample());
    await jest.advanceTimersByTimeAsync(4_999);
    expect(sink.committed).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(sink.committed).toHaveLength(2);
    // An empty buffer does not write.
    await jest.advanceTimersByTimeAsync(20_000);
    expect(sink.batches).toHaveLength(1);
    await buffer.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('shutdown flushes what is buffered (waiting for a flush in progress) and refuses later samples', async () => {
    const sink = new ControlledSink();
    const buffer = new TrainingBuffer(sink, { capacity: 100, batchSize: 50, flushIntervalMs: 0 });
    const first = nextId + 1;
    for (let i = 0; i < 3; i++) buffer.add(sample());
    void buffer.flush();
    await sink.started(); // the first batch (3) is being written
    for (let i = 0; i < 2; i++) buffer.add(sample());
    const closed = buffer.close();
    expect(buffer.add(sample())).toBe(false);
    await sink.settleNext();
    await sink.settleNext();
    expect(await closed).toBe(true);
    expect(sink.committed).toEqual(ids(first, 5));
    expect(buffer.stats()).toMatchObject({ size: 0, dropped: 1 });
  });

  it('shutdown retries a failed write once, and reports what it could not write', async () => {
    const sink = new ControlledSink();
    const buffer = new TrainingBuffer(sink, { capacity: 100, batchSize: 50, flushIntervalMs: 0 });
    buffer.add(sample());
    const closed = buffer.close();
    await sink.settleNext(false);
    await sink.settleNext(false);
    expect(await closed).toBe(false);
    expect(buffer.size).toBe(1);
  });
});

describe('toSample', () => {
  const features = Array.from({ length: FEATURE_COUNT }, (_, i) => i / 10);

  it('accepts a valid outcome and freezes it', () => {
    const s = toSample({ features, action: 'SIT', success: false, session_id: 'abc', reward: -1, model_version: 3, timestamp_ms: 5 }, 'feedback');
    expect(s).toMatchObject({ action: 'SIT', success: false, sessionId: 'abc', reward: -1, modelVersion: 3, createdAt: 5, source: 'feedback' });
    expect(Object.isFrozen(s)).toBe(true);
    expect(s!.features[1]).toBe(Math.fround(0.1));
  });

  it.each([
    ['too few features', { features: features.slice(1), action: 'SIT', success: true }],
    ['a NaN feature', { features: [...features.slice(1), Number.NaN], action: 'SIT', success: true }],
    ['an unknown action', { features, action: 'DANCE', success: true }],
    ['a non-boolean success', { features, action: 'SIT', success: 1 }],
    ['an infinite reward', { features, action: 'SIT', success: true, reward: Infinity }],
  ])('refuses %s', (_name, input) => {
    expect(toSample(input as never, 'api')).toBeUndefined();
  });
});
