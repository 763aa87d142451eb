import { DeadlockError } from './concurrency.errors';
import { deferred, flushMicrotasks, RecordingLogger } from './concurrency.test-kit';
import { runInTask } from './lock-context';
import { createLockManager } from './lock-manager.service';
import { LockOrder } from './lock-order.enum';
import { type Lockable, withLock } from './with-lock';

/**
 * Cycles need locks taken against the hierarchy, which 'throw' mode forbids
 * outright; these scenarios run in 'log' mode (production), where the
 * violation is only logged and the wait-for graph has to catch the cycle.
 */
const setup = () => {
  const logger = new RecordingLogger();
  const manager = createLockManager({ logger, orderMode: 'log' });
  return { logger, manager };
};

/** Resolves when `n` parties have arrived; lets every flow take its first lock before any takes its second. */
function barrier(n: number): () => Promise<void> {
  const all = deferred();
  let arrived = 0;
  return () => {
    if (++arrived === n) all.resolve();
    return all.promise;
  };
}

/** Settles `flows`, or fails if that takes longer than `ms` (real timers). */
async function settleWithin<T>(ms: number, flows: Array<Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`flows still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(flows), limit]);
  } finally {
    clearTimeout(timer);
  }
}

function crossing(first: Lockable, second: Lockable, arrive: () => Promise<void>, result: string): () => Promise<string> {
  return () => withLock(first, async () => {
    await arrive();
    return withLock(second, () => result);
  });
}

describe('deadlock detector (wait-for graph)', () => {
  it('docs/architecture.md §16 (2): A→B / B→A fails exactly one flow with DeadlockError, at once, and the other completes', async () => {
    const { manager, logger } = setup();
    const a = manager.mutex('lock-a', LockOrder.STATE);
    const b = manager.mutex('lock-b', LockOrder.DECISION);
    const arrive = barrier(2);
    const flowA = runInTask('flow-A', crossing(a, b, arrive, 'A done'));
    const flowB = runInTask('flow-B', crossing(b, a, arrive, 'B done'));

    // Default wait bound is 5 s: finishing within 1 s proves detection, not a timeout.
    const results = await settleWithin(1_000, [flowA, flowB]);

    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const done = results.filter((r): r is PromiseFulfilledResult<string> => r.status === 'fulfilled');
    expect(failed).toHaveLength(1);
    expect(done).toHaveLength(1);
    const error = failed[0].reason as DeadlockError;
    expect(error).toBeInstanceOf(DeadlockError);
    expect(error).toMatchObject({ code: 'DEADLOCK', status: 503 });
    const edges = error.cycle.map((e) => `${e.task}>${e.waitsFor}>${e.heldBy}`).sort();
    expect(edges).toEqual(['flow-A>lock-b>flow-B', 'flow-B>lock-a>flow-A']);
    expect(error.details).toEqual({ cycle: error.cycle });

    const report = manager.getReport();
    expect(report.deadlocks).toHaveLength(1);
    expect(report.deadlocks[0].cycle).toEqual(error.cycle);
    expect(logger.errors.join('\n')).toMatch(/Deadlock: .*flow-A.*flow-B|Deadlock: .*flow-B.*flow-A/);
    expect(report.held).toEqual([]);
    expect(report.waiting).toEqual([]);
  });

  it('finds a three-party cycle through keyed and RW locks', async () => {
    const { manager } = setup();
    const state = manager.keyedRwLock('state', LockOrder.STATE);
    const decision = manager.keyedMutex('decision', LockOrder.DECISION);
    const model = manager.rwLock('model', LockOrder.MODEL);
    const arrive = barrier(3);
    // Readers block writers: each flow reads its first lock and wants to write the next.
    const flow = (name: string, first: () => Promise<string>) => runInTask(name, first);
    const results = await settleWithin(1_000, [
      flow('p', () =>
        withLock(state, async () => {
          await arrive();
          return withLock(decision, () => 'p', { key: 'd' });
        }, { key: 's', mode: 'read' }),
      ),
      flow('q', () =>
        withLock(decision, async () => {
          await arrive();
          return withLock(model, () => 'q', { mode: 'write' });
        }, { key: 'd' }),
      ),
      flow('r', () =>
        withLock(model, async () => {
          await arrive();
          return withLock(state, () => 'r', { key: 's', mode: 'write' });
        }, { mode: 'read' }),
      ),
    ]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    const { cycle } = failed[0].reason as DeadlockError;
    expect(cycle).toHaveLength(3);
    expect(new Set(cycle.map((e) => e.task))).toEqual(new Set(['p', 'q', 'r']));
    expect(new Set(cycle.map((e) => e.waitsFor))).toEqual(new Set(['state[s]', 'decision[d]', 'model']));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
  });

  it('plain contention is not a deadlock, even between sibling flows under a shared parent lock', async () => {
    const { manager } = setup();
    const parent = manager.mutex('parent', LockOrder.SESSION);
    const child = manager.mutex('child', LockOrder.STATE);
    const order: number[] = [];
    const done = await withLock(parent, () =>
      Promise.all(
        [0, 1, 2].map((i) =>
          withLock(child, async () => {
            await flushMicrotasks();
            order.push(i);
          }),
        ),
      ),
    );
    expect(done).toHaveLength(3);
    expect(order).toEqual([0, 1, 2]);
    expect(manager.getReport().deadlocks).toEqual([]);
  });

  it('a multi-permit semaphore is only deadlocked when every holder is stuck', async () => {
    const { manager } = setup();
    const pool = manager.semaphore('pool', LockOrder.STATE, 2);
    const m = manager.mutex('m', LockOrder.DECISION);

    // One holder (free) will release: B's wait for the pool is not a deadlock.
    const freeHolderDone = deferred();
    const arrive = barrier(2);
    const freeHolder = runInTask('free', () => withLock(pool, () => freeHolderDone.promise));
    const stuck = runInTask('stuck', crossing(pool, m, arrive, 'stuck done'));
    const b = runInTask('b', crossing(m, pool, arrive, 'b done'));
    await flushMicrotasks();
    expect(manager.getReport().waiting.map((w) => w.task).sort()).toEqual(['b', 'stuck']);
    freeHolderDone.resolve();
    const results = await settleWithin<unknown>(1_000, [freeHolder, stuck, b]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(manager.getReport().deadlocks).toEqual([]);

    // Both holders stuck behind B: now it is one.
    const arrive3 = barrier(3);
    const all = await settleWithin(1_000, [
      runInTask('s1', crossing(pool, m, arrive3, 's1')),
      runInTask('s2', crossing(pool, m, arrive3, 's2')),
      runInTask('b2', crossing(m, pool, arrive3, 'b2')),
    ]);
    const rejected = all.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.map((r): unknown => r.reason)).toEqual([
      expect.any(DeadlockError),
    ]);
  });
});

describe('long-hold scan', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('reports a lock held past the threshold once, with holder and (in debug mode) the acquisition stack', async () => {
    const logger = new RecordingLogger();
    const manager = createLockManager({ logger, debug: true });
    const db = manager.mutex('database', LockOrder.DATABASE);
    manager.startMonitoring();
    expect(jest.getTimerCount()).toBe(1);

    const release = deferred();
    const job = runInTask('vacuum-job', () => withLock(db, () => release.promise));

    jest.advanceTimersByTime(10_000); // scans at 1 s … 10 s: never held *longer* than 10 s yet
    expect(manager.getReport().longHolds).toEqual([]);
    jest.advanceTimersByTime(1_000);
    const [report] = manager.getReport().longHolds;
    expect(report).toMatchObject({ lock: 'database', task: 'vacuum-job', mode: 'write' });
    expect(report.heldMs).toBeGreaterThanOrEqual(10_000);
    expect(report.stack).toContain('deadlock-detector.spec');
    expect(logger.warnings.join('\n')).toMatch(/"database".*vacuum-job/);

    jest.advanceTimersByTime(5_000);
    expect(manager.getReport().longHolds).toHaveLength(1); // reported once per hold

    release.resolve();
    await job;
    manager.stopMonitoring();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('captures no stack outside debug mode', async () => {
    const manager = createLockManager({ logger: new RecordingLogger(), debug: false, longHoldThresholdMs: 50 });
    const m = manager.mutex('m', LockOrder.STATE);
    manager.startMonitoring();
    const release = deferred();
    const job = withLock(m, () => release.promise);
    jest.advanceTimersByTime(2_000);
    const [report] = manager.getReport().longHolds;
    expect(report.lock).toBe('m');
    expect(report.stack).toBeUndefined();
    expect(manager.getReport().held[0].stack).toBeUndefined();
    release.resolve();
    await job;
    manager.stopMonitoring();
  });

  it('keeps only the most recent reports', () => {
    const manager = createLockManager({ logger: new RecordingLogger(), reportLimit: 3, longHoldThresholdMs: 0 });
    const family = manager.keyedMutex('k', LockOrder.STATE);
    const releases: Array<() => void> = [];
    for (let i = 0; i < 5; i++) void withLock(family, () => new Promise<void>((r) => releases.push(r)), { key: `k${i}` });
    jest.advanceTimersByTime(1);
    manager.runtime.detector.scan();
    expect(manager.getReport().longHolds.map((r) => r.lock)).toEqual(['k[k2]', 'k[k3]', 'k[k4]']);
    releases.forEach((r) => r());
  });
});
