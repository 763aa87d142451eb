import { deferred, flushMicrotasks, RecordingLogger } from './concurrency.test-kit';
import { KeyedLock } from './keyed-lock';
import { runInTask } from './lock-context';
import { createLockManager } from './lock-manager.service';
import { LOCK_TIMEOUTS, LockName, LockOrder } from './lock-order.enum';
import { Mutex } from './mutex';
import { RwLock } from './rw-lock';
import { withLock } from './with-lock';

const manager = (timeouts?: { default?: number }) => createLockManager({ logger: new RecordingLogger(), timeouts });

describe('LockManager', () => {
  it('is get-or-create by name and refuses a different shape under the same name', () => {
    const m = manager();
    const outbound = m.mutex('outbound', LockOrder.NETWORK);
    expect(m.mutex('outbound', LockOrder.NETWORK)).toBe(outbound);
    expect(() => m.rwLock('outbound', LockOrder.NETWORK)).toThrow(/already registered as mutex/);
    expect(() => m.mutex('outbound', LockOrder.DATABASE)).toThrow(/already registered/);
    expect(() => m.mutex('outbound', LockOrder.NETWORK, { timeoutMs: 1 })).toThrow(/5000 ms/);
    m.semaphore('pool', LockOrder.NETWORK, 4);
    expect(() => m.semaphore('pool', LockOrder.NETWORK, 5)).toThrow(/4 permits/);
    expect(() => m.semaphore('bad', LockOrder.NETWORK, 0)).toThrow(RangeError);
  });

  it('applies the §2.4 wait bounds: 5 s default, 10 s critical, 30 s database, per-lock override', () => {
    const m = manager();
    expect(m.mutex('a', LockOrder.STATE).timeoutMs).toBe(LOCK_TIMEOUTS.default);
    expect(m.mutex('b', LockOrder.STATE, { critical: true }).timeoutMs).toBe(LOCK_TIMEOUTS.critical);
    expect(m.mutex('c', LockOrder.DATABASE).timeoutMs).toBe(LOCK_TIMEOUTS.database);
    expect(m.mutex('d', LockOrder.STATE, { timeoutMs: 250 }).timeoutMs).toBe(250);
    expect(manager({ default: 100 }).mutex('e', LockOrder.STATE).timeoutMs).toBe(100);
  });

  it('resolves standard lock names from the catalog with their kinds and bounds', () => {
    const m = manager();
    const state = m.resolve(LockName.STATE);
    expect(state).toBeInstanceOf(KeyedLock);
    expect(state).toMatchObject({ kind: 'keyed-rw', order: LockOrder.STATE });
    expect(m.resolve(LockName.STATE)).toBe(state);
    expect(m.resolve(LockName.MODEL)).toBeInstanceOf(RwLock);
    expect(m.resolve(LockName.DATABASE)).toMatchObject({ timeoutMs: 30_000 });
    expect(m.resolve(LockName.DATABASE)).toBeInstanceOf(Mutex);
    expect(m.resolve(LockName.MACRO)).toMatchObject({ kind: 'keyed-rw', timeoutMs: 10_000 });
    expect(() => m.resolve('nope')).toThrow(/No lock registered under "nope"/);
    // Typed without casts: standard names resolve to their catalog kind.
    const decision: KeyedLock<Mutex> = m.resolve(LockName.DECISION);
    const model: RwLock = m.resolve(LockName.MODEL);
    expect([decision.kind, model.kind]).toEqual(['keyed-mutex', 'rw']);
  });

  it('keeps standard names to their catalog kind and order', () => {
    const m = manager();
    expect(() => m.mutex(LockName.STATE, LockOrder.STATE)).toThrow(/"state" is a standard lock: keyed-rw, order 3/);
    expect(() => m.keyedRwLock(LockName.STATE, LockOrder.MODEL)).toThrow(/standard lock/);
    expect(m.keyedRwLock(LockName.STATE, LockOrder.STATE, { timeoutMs: 2_000 }).timeoutMs).toBe(2_000);
  });

  describe('getReport', () => {
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    });

    afterEach(() => {
      jest.useRealTimers();
    });

    it('lists holders with ages and waiters with positions, as plain JSON', async () => {
      const m = manager();
      const state = m.keyedRwLock(LockName.STATE, LockOrder.STATE);
      const gate = deferred();
      const readers = ['r1', 'r2'].map((task) =>
        runInTask(task, () => withLock(state, () => gate.promise, { key: 'bot', mode: 'read' })),
      );
      jest.advanceTimersByTime(100);
      const writer = runInTask('w', () => withLock(state, () => 'w', { key: 'bot' }));
      const reader3 = withLock(state, () => 'r3', { key: 'bot', mode: 'read' });
      await flushMicrotasks();
      jest.advanceTimersByTime(50);

      const report = m.getReport();
      expect(report.held).toEqual([
        expect.objectContaining({ lock: 'state[bot]', task: 'r1', mode: 'read', heldMs: 150, kind: 'rw', order: 3 }),
        expect.objectContaining({ lock: 'state[bot]', task: 'r2', mode: 'read', heldMs: 150 }),
      ]);
      expect(report.waiting).toEqual([
        expect.objectContaining({ lock: 'state[bot]', task: 'w', mode: 'write', position: 0, waitingMs: 50 }),
        expect.objectContaining({ lock: 'state[bot]', mode: 'read', position: 1, waitingMs: 50 }),
      ]);
      expect(report).toMatchObject({ orderMode: 'throw', truncated: false, deadlocks: [], longHolds: [] });
      expect(JSON.parse(JSON.stringify(report))).toEqual(report);

      gate.resolve();
      await Promise.all([...readers, writer, reader3]);
      expect(m.getReport()).toMatchObject({ held: [], waiting: [] });
    });
  });
});
