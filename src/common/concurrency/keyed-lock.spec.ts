import { LockAbortedError, LockOrderViolationError, LockTimeoutError } from './concurrency.errors';
import { deferred, flushMicrotasks, RecordingLogger } from './concurrency.test-kit';
import { createLockManager } from './lock-manager.service';
import { RETAINED_IDLE_ENTRIES } from './keyed-lock';
import { LockOrder } from './lock-order.enum';
import { withLock } from './with-lock';

const manager = () => createLockManager({ logger: new RecordingLogger() });

describe('KeyedLock', () => {
  it('bounds idle entries: 100k distinct keys leave no busy entry, and the map never holds more than twice the busy peak', async () => {
    const family = manager().keyedMutex('per-player', LockOrder.REPUTATION);
    let peak = 0;
    let retainedPeak = 0;
    // 1000 keys in flight at a time, so entries really coexist and then go.
    for (let batch = 0; batch < 100; batch++) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          withLock(family, () => {
            peak = Math.max(peak, family.size);
            retainedPeak = Math.max(retainedPeak, family.retained);
          }, { key: `player-${batch * 1000 + i}` }),
        ),
      );
    }
    expect(peak).toBe(1000);
    expect(family.size).toBe(0);
    // 100k keys went through; the sweeps kept the map within its documented bound all along.
    expect(retainedPeak).toBeLessThanOrEqual(Math.max(2 * peak, RETAINED_IDLE_ENTRIES));
    expect([...family.locks()]).toEqual([]);
  });

  it('takes a returning key on the entry it had: no entry made or dropped per acquisition', async () => {
    const family = manager().keyedMutex('per-session', LockOrder.SESSION);
    const seen = new Set<unknown>();
    for (let i = 0; i < 50; i++) {
      await withLock(family, () => {
        for (const entry of family.locks()) seen.add(entry);
      }, { key: 'bot-1' });
      await withLock(family, () => undefined, { key: `other-${i % 3}` });
    }
    expect(seen.size).toBe(1);
    expect(family.retained).toBe(4);
    expect(family.size).toBe(0);
  });

  it('counts an entry busy while it has holders or waiters and not after', async () => {
    const family = manager().keyedRwLock('per-macro', LockOrder.MACRO);
    const release = await family.acquire('farm');
    const queued = family.acquire('farm', { mode: 'read' });
    await flushMicrotasks();
    expect(family.size).toBe(1);
    expect(family.queueDepth('farm')).toBe(1);
    release();
    const second = await queued;
    expect(family.size).toBe(1);
    second();
    expect(family.size).toBe(0);
  });

  it('does not leak entries for refused, timed-out or aborted requests', async () => {
    const m = manager();
    const config = m.mutex('config', LockOrder.CONFIG);
    const family = m.keyedMutex('per-session', LockOrder.SESSION);
    const aborted = new AbortController();
    aborted.abort();
    await expect(family.acquire('a', { signal: aborted.signal })).rejects.toBeInstanceOf(LockAbortedError);
    await expect(withLock(family, () => withLock(family, () => 0, { key: 'c' }), { key: 'b' })).rejects.toBeInstanceOf(
      LockOrderViolationError,
    );
    await withLock(config, async () => {
      // try-lock on a busy key
      const held = await family.acquire('d');
      await expect(family.acquire('d', { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
      held();
    });
    expect(family.size).toBe(0);
  });

  it('different keys do not block each other; the same key does', async () => {
    const family = manager().keyedMutex('per-session', LockOrder.DECISION);
    const gate = deferred();
    const a = withLock(family, () => gate.promise, { key: 'a' });
    let bRan = false;
    let a2Ran = false;
    const b = withLock(family, () => void (bRan = true), { key: 'b' });
    const a2 = withLock(family, () => void (a2Ran = true), { key: 'a' });
    await b;
    expect(bRan).toBe(true);
    expect(a2Ran).toBe(false);
    gate.resolve();
    await Promise.all([a, a2]);
    expect(a2Ran).toBe(true);
  });
});
