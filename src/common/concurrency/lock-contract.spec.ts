import { LockAbortedError, LockTimeoutError } from './concurrency.errors';
import { flushMicrotasks, RecordingLogger, times, track } from './concurrency.test-kit';
import type { Hold } from './hold';
import { createLockManager } from './lock-manager.service';
import { LockOrder } from './lock-order.enum';
import type { AcquireOptions, Releaser } from './ordered-lock';
import { SessionSerializer } from './session-serializer';

/** A lock as the contract sees it. */
interface ContractSubject {
  /** The acquisition under test. */
  acquire(options?: AcquireOptions): Promise<Releaser>;
  /** Makes `acquire` wait: takes the lock in a conflicting way (a writer for read mode, all permits for a semaphore). */
  block(): Promise<Releaser>;
  /** How many `acquire`s may hold at once (Infinity for RW readers). */
  capacity: number;
  /** No holder, no waiter, nothing left behind (keyed entries reclaimed). */
  idle(): boolean;
  /** The hot path's try-lock: a releaser when it could take the lock at once, else undefined. */
  tryAcquire(): Releaser | undefined;
}

const granted = (t: { fulfilled: boolean }): boolean => t.fulfilled;

/**
 * The behaviour every lock kind promises: exclusion up to its capacity, FIFO
 * grants, bounded waits whose losers never acquire, idempotent releasers and
 * AbortSignal cancellation.
 */
function describeLockContract(name: string, factory: () => ContractSubject): void {
  describe(`${name}: lock contract`, () => {
    let lock: ContractSubject;

    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
      lock = factory();
    });

    afterEach(() => {
      jest.useRealTimers();
    });

    it('never admits more than its capacity and lets the next in on release', async () => {
      if (Number.isFinite(lock.capacity)) {
        const holders = times(lock.capacity, () => track(lock.acquire()));
        const extra = track(lock.acquire());
        await flushMicrotasks();
        expect(holders.every(granted)).toBe(true);
        expect(extra.settled).toBe(false);
        holders[0].value!();
        await flushMicrotasks();
        expect(extra.fulfilled).toBe(true);
        for (const h of [...holders.slice(1), extra]) h.value!();
      } else {
        // Shared mode: holders coexist, and the conflicting mode waits for all of them.
        const holders = times(3, () => track(lock.acquire()));
        await flushMicrotasks();
        expect(holders.every(granted)).toBe(true);
        const conflicting = track(lock.block());
        await flushMicrotasks();
        holders[0].value!();
        holders[1].value!();
        await flushMicrotasks();
        expect(conflicting.settled).toBe(false);
        holders[2].value!();
        await flushMicrotasks();
        expect(conflicting.fulfilled).toBe(true);
        conflicting.value!();
      }
      expect(lock.idle()).toBe(true);
    });

    it('try-acquire takes a free lock at once and, when it would wait, returns nothing and queues nothing', async () => {
      if (Number.isFinite(lock.capacity)) {
        const holders = times(lock.capacity, () => lock.tryAcquire());
        expect(holders.every((h) => h !== undefined)).toBe(true);
        expect(lock.tryAcquire()).toBeUndefined();
        // Nothing was left in the queue: releasing the holders leaves the lock idle.
        for (const release of holders) release!();
      } else {
        // Free for this mode, but a conflicting waiter is in line: FIFO says no.
        const reader = lock.tryAcquire();
        expect(reader).toBeDefined();
        const conflicting = track(lock.block());
        await flushMicrotasks();
        expect(lock.tryAcquire()).toBeUndefined();
        reader!();
        await flushMicrotasks();
        expect(conflicting.fulfilled).toBe(true);
        conflicting.value!();
      }
      expect(lock.idle()).toBe(true);
      const again = lock.tryAcquire();
      expect(again).toBeDefined();
      again!();
      expect(lock.idle()).toBe(true);
    });

    it('grants waiters in arrival order', async () => {
      const blocker = await lock.block();
      const order: number[] = [];
      const waiters = times(5, (i) => {
        const t = track(lock.acquire());
        void t.promise.then(() => order.push(i));
        return t;
      });
      await flushMicrotasks();
      expect(order).toEqual([]);
      blocker();
      // Release whoever holds until everybody has had a turn.
      const released = new Set<number>();
      while (released.size < waiters.length) {
        await flushMicrotasks();
        const holding = waiters.map((w, i) => i).filter((i) => waiters[i].fulfilled && !released.has(i));
        expect(holding.length).toBeGreaterThan(0);
        for (const i of holding) {
          released.add(i);
          waiters[i].value!();
        }
      }
      expect(order).toEqual([0, 1, 2, 3, 4]);
      expect(lock.idle()).toBe(true);
    });

    it('a timed-out waiter leaves the queue and never acquires, even after the holder releases', async () => {
      const blocker = await lock.block();
      const waiter = track(lock.acquire({ timeoutMs: 100 }));
      jest.advanceTimersByTime(99);
      await flushMicrotasks();
      expect(waiter.settled).toBe(false);
      jest.advanceTimersByTime(1);
      await flushMicrotasks();
      expect(waiter.error).toBeInstanceOf(LockTimeoutError);
      expect(waiter.error).toMatchObject({ code: 'LOCK_TIMEOUT', status: 503 });

      blocker();
      const next = track(lock.acquire());
      await flushMicrotasks();
      expect(next.fulfilled).toBe(true);
      expect(waiter.fulfilled).toBe(false);
      next.value!();
      expect(lock.idle()).toBe(true);
    });

    it('does not acquire after its timeout fired, even when the release comes in the same tick', async () => {
      const blocker = await lock.block();
      const loser = track(lock.acquire({ timeoutMs: 50 }));
      const winner = track(lock.acquire({ timeoutMs: 60_000 }));
      jest.advanceTimersByTime(50);
      blocker(); // same synchronous turn as the timeout
      await flushMicrotasks();
      expect(loser.error).toBeInstanceOf(LockTimeoutError);
      expect(winner.fulfilled).toBe(true);
      // A grant that beat its own timer is not revoked when the timer would have fired.
      jest.advanceTimersByTime(60_000);
      await flushMicrotasks();
      expect(winner.error).toBeUndefined();
      winner.value!();
      expect(lock.idle()).toBe(true);
    });

    it('has an idempotent releaser: a second call does not release somebody else', async () => {
      const first = await lock.block();
      const second = track(lock.block());
      await flushMicrotasks();
      expect(second.settled).toBe(false);
      first();
      await flushMicrotasks();
      expect(second.fulfilled).toBe(true);
      first(); // must be a no-op: `second` still holds
      const third = track(lock.acquire());
      await flushMicrotasks();
      expect(third.settled).toBe(false);
      second.value!();
      second.value!();
      await flushMicrotasks();
      expect(third.fulfilled).toBe(true);
      third.value!();
      third.value!();
      expect(lock.idle()).toBe(true);
    });

    it('fails at once with an already aborted signal and leaves the lock untouched', async () => {
      const controller = new AbortController();
      controller.abort(new Error('client went away'));
      await expect(lock.acquire({ signal: controller.signal })).rejects.toBeInstanceOf(LockAbortedError);
      expect(lock.idle()).toBe(true);
      const next = await lock.acquire();
      next();
      expect(lock.idle()).toBe(true);
    });

    it('removes a waiter whose signal aborts during the wait', async () => {
      const blocker = await lock.block();
      const controller = new AbortController();
      const aborted = track(lock.acquire({ signal: controller.signal }));
      const after = track(lock.acquire());
      await flushMicrotasks();
      controller.abort();
      await flushMicrotasks();
      expect(aborted.error).toBeInstanceOf(LockAbortedError);
      blocker();
      await flushMicrotasks();
      expect(after.fulfilled).toBe(true);
      expect(aborted.fulfilled).toBe(false);
      after.value!();
      expect(lock.idle()).toBe(true);
    });
  });
}

const releaser = (hold: Hold | undefined): Releaser | undefined => (hold ? () => hold.release() : undefined);

const quiet = () => createLockManager({ logger: new RecordingLogger(), orderMode: 'throw' });

describeLockContract('mutex', () => {
  const m = quiet().mutex('m', LockOrder.STATE);
  return { acquire: (o) => m.acquire(o), block: () => m.acquire(), capacity: 1, idle: () => m.idle, tryAcquire: () => releaser(m.tryAcquireHold(true)) };
});

describeLockContract('rw lock (write mode)', () => {
  const rw = quiet().rwLock('rw', LockOrder.STATE);
  const write = (o?: AcquireOptions) => rw.acquire({ ...o, mode: 'write' });
  return { acquire: write, block: () => write(), capacity: 1, idle: () => rw.idle, tryAcquire: () => releaser(rw.tryAcquireHold(true)) };
});

describeLockContract('rw lock (read mode)', () => {
  const rw = quiet().rwLock('rw', LockOrder.STATE);
  return {
    acquire: (o) => rw.acquire({ ...o, mode: 'read' }),
    block: () => rw.acquire({ mode: 'write' }),
    capacity: Infinity,
    idle: () => rw.idle,
    tryAcquire: () => releaser(rw.tryAcquireHold(false)),
  };
});

describeLockContract('semaphore(1)', () => {
  const s = quiet().semaphore('sem', LockOrder.NETWORK, 1);
  return { acquire: (o) => s.acquire(o), block: () => s.acquire(), capacity: 1, idle: () => s.idle, tryAcquire: () => releaser(s.tryAcquireHold(true)) };
});

describeLockContract('semaphore(3)', () => {
  const s = quiet().semaphore('sem', LockOrder.NETWORK, 3);
  return {
    acquire: (o) => s.acquire(o),
    block: async () => {
      const all = await Promise.all(times(3, () => s.acquire()));
      return () => all.forEach((release) => release());
    },
    capacity: 3,
    idle: () => s.idle,
    tryAcquire: () => releaser(s.tryAcquireHold(true)),
  };
});

describeLockContract('keyed mutex entry', () => {
  const family = quiet().keyedMutex('per-session', LockOrder.DECISION);
  return {
    acquire: (o) => family.acquire('session-1', o),
    block: () => family.acquire('session-1'),
    capacity: 1,
    idle: () => family.size === 0,
    tryAcquire: () => releaser(family.tryAcquireHold('session-1', true)),
  };
});

describeLockContract('keyed rw entry (write mode)', () => {
  const family = quiet().keyedRwLock('per-macro', LockOrder.MACRO);
  return {
    acquire: (o) => family.acquire('farm.pm', { ...o, mode: 'write' }),
    block: () => family.acquire('farm.pm', { mode: 'write' }),
    capacity: 1,
    idle: () => family.size === 0,
    tryAcquire: () => releaser(family.tryAcquireHold('farm.pm', true)),
  };
});

describeLockContract('session serializer turn', () => {
  const serializer = new SessionSerializer(quiet());
  return {
    acquire: (o) => serializer.acquireTurn('session-1', o),
    block: () => serializer.acquireTurn('session-1'),
    capacity: 1,
    idle: () => serializer.stats().activeSessions === 0 && serializer.inFlight === 0,
    tryAcquire: () => serializer.tryAcquireTurn('session-1'),
  };
});
