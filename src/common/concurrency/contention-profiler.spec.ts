import { LockTimeoutError } from './concurrency.errors';
import { deferred, flushMicrotasks, RecordingLogger } from './concurrency.test-kit';
import { SampleWindow } from './contention-profiler';
import { createLockManager } from './lock-manager.service';
import { LockOrder } from './lock-order.enum';
import { withLock } from './with-lock';

describe('contention profiler', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts acquisitions, contentions, timeouts and wait/hold times per lock', async () => {
    const manager = createLockManager({ logger: new RecordingLogger() });
    const m = manager.mutex('metrics', LockOrder.METRICS);
    for (let i = 0; i < 3; i++) await withLock(m, () => undefined); // uncontended, held 0 ms

    const gate = deferred();
    const holder = withLock(m, () => gate.promise);
    const waiter = withLock(m, () => 'late');
    const loser = withLock(m, () => 'never', { timeoutMs: 10 }).catch((e: unknown) => e);
    jest.advanceTimersByTime(10);
    expect(await loser).toBeInstanceOf(LockTimeoutError);
    jest.advanceTimersByTime(30); // holder has held 40 ms, waiter waited 40 ms
    gate.resolve();
    await holder;
    await waiter;

    const [row] = manager.contention();
    expect(row).toMatchObject({
      lock: 'metrics',
      kind: 'mutex',
      order: 8,
      acquisitions: 5,
      contentions: 2,
      timeouts: 1,
      aborts: 0,
      deadlocks: 0,
    });
    expect(row.waitMs).toEqual({ count: 1, meanMs: 40, maxMs: 40, p99Ms: 40 });
    expect(row.holdMs).toEqual({ count: 5, meanMs: 8, maxMs: 40, p99Ms: 40 });
  });

  it('aggregates a keyed family under its name', async () => {
    const manager = createLockManager({ logger: new RecordingLogger() });
    const family = manager.keyedRwLock('state', LockOrder.STATE);
    await Promise.all(['a', 'b', 'c'].map((key) => withLock(family, () => flushMicrotasks(), { key, mode: 'read' })));
    expect(manager.contention()).toEqual([expect.objectContaining({ lock: 'state', kind: 'keyed-rw', acquisitions: 3 })]);
  });

  it('computes p99 over a bounded ring of recent samples', () => {
    const window = new SampleWindow(100);
    for (let i = 1; i <= 100; i++) window.record(i);
    expect(window.summary()).toEqual({ count: 100, meanMs: 50.5, maxMs: 100, p99Ms: 99 });
    // 100 more samples of 1 ms push the old ones out of the ring; count/mean/max stay all-time.
    for (let i = 0; i < 100; i++) window.record(1);
    expect(window.summary()).toEqual({ count: 200, meanMs: 25.75, maxMs: 100, p99Ms: 1 });
  });
});
