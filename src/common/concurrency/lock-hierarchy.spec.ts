import { DeadlockError, LockOrderViolationError } from './concurrency.errors';
import { deferred, RecordingLogger } from './concurrency.test-kit';
import { detached, heldLocks, runInTask } from './lock-context';
import { createLockManager } from './lock-manager.service';
import { LockName, LockOrder } from './lock-order.enum';
import { withLock, withLocks } from './with-lock';

describe('lock hierarchy (held-lock stack per async context)', () => {
  const setup = (orderMode: 'throw' | 'log' = 'throw') => {
    const logger = new RecordingLogger();
    const manager = createLockManager({ logger, orderMode });
    return {
      logger,
      manager,
      config: manager.mutex(LockName.CONFIG, LockOrder.CONFIG),
      state: manager.keyedRwLock(LockName.STATE, LockOrder.STATE),
      decision: manager.keyedMutex(LockName.DECISION, LockOrder.DECISION),
      macro: manager.keyedRwLock(LockName.MACRO, LockOrder.MACRO),
      memory: manager.keyedRwLock(LockName.MEMORY, LockOrder.MEMORY),
      database: manager.mutex(LockName.DATABASE, LockOrder.DATABASE),
    };
  };

  it('work scheduled from inside a held lock inherits it, unless scheduled detached', async () => {
    const { config } = setup();
    const schedule = (wrap: <T>(fn: () => T) => T) =>
      new Promise<string[]>((resolve) => wrap(() => setImmediate(() => resolve(heldLocks()))));
    const [inherited, free] = await withLock(config, () => Promise.all([schedule((fn) => fn()), schedule(detached)]));
    expect(inherited).toEqual(['config']);
    expect(free).toEqual([]);
  });

  it('allows strictly increasing order and exposes the stack', async () => {
    const { config, state, database } = setup();
    const seen = await withLock(config, () =>
      withLock(state, () => withLock(database, () => heldLocks()), { key: 's1', mode: 'write' }),
    );
    expect(seen).toEqual(['config', 'state[s1]', 'database']);
    expect(heldLocks()).toEqual([]);
  });

  it('docs/architecture.md §16 (1): STATE then CONFIG is a LockOrderViolationError naming both locks and orders', async () => {
    const { config, state, manager } = setup();
    const attempt = withLock(state, () => withLock(config, () => 'unreachable'), { key: 's1' });
    await expect(attempt).rejects.toBeInstanceOf(LockOrderViolationError);
    await expect(attempt).rejects.toMatchObject({
      code: 'LOCK_ORDER_VIOLATION',
      status: 500,
    });
    await expect(attempt).rejects.toThrow(/"config" \(order 1\).*"state\[s1\]" \(order 3\)/);
    // The violating acquisition never happened and the outer lock was released.
    expect(config.idle).toBe(true);
    expect(state.size).toBe(0);
    expect(manager.getReport().orderViolations).toMatchObject({
      total: 1,
      byPair: [{ held: 'state', attempted: 'config', count: 1 }],
    });
  });

  it('levels that share an order never nest (MACRO and MEMORY are both 7)', async () => {
    const { macro, memory } = setup();
    await expect(
      withLock(macro, () => withLock(memory, () => 'nested', { key: 's1' }), { key: 'farm' }),
    ).rejects.toBeInstanceOf(LockOrderViolationError);
  });

  it('two entries of one keyed family are the same level and never nest', async () => {
    const { state } = setup();
    await expect(
      withLock(state, () => withLock(state, () => 'other bot', { key: 'bot-2' }), { key: 'bot-1' }),
    ).rejects.toBeInstanceOf(LockOrderViolationError);
  });

  it("log mode (production) logs, counts and proceeds", async () => {
    const { config, state, logger, manager } = setup('log');
    const result = await withLock(state, () => withLock(config, () => heldLocks()), { key: 's1' });
    expect(result).toEqual(['state[s1]', 'config']);
    expect(logger.warnings.join('\n')).toMatch(/Lock order violation.*"config".*"state\[s1\]"/);
    expect(manager.getReport().orderViolations.total).toBe(1);
    manager.setOrderMode('throw');
    await expect(withLock(state, () => withLock(config, () => 0), { key: 's1' })).rejects.toBeInstanceOf(
      LockOrderViolationError,
    );
  });

  it.each(['throw', 'log'] as const)('self-deadlock is an error at once, never a hang (%s mode)', async (mode) => {
    const { config, state, manager } = setup(mode);
    const error = await withLock(config, () => withLock(config, () => 'again')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlockError);
    expect((error as DeadlockError).message).toMatch(/self-deadlock.*"config"/i);
    expect((error as DeadlockError).code).toBe('DEADLOCK');
    // Re-reading under a read lock would hang behind any queued writer, so it is refused too.
    await expect(
      withLock(state, () => withLock(state, () => 'again', { key: 's1', mode: 'read' }), { key: 's1', mode: 'read' }),
    ).rejects.toBeInstanceOf(DeadlockError);
    expect(config.idle).toBe(true);
    expect(state.size).toBe(0);
    expect(manager.getReport().deadlocks).toHaveLength(2);
  });

  it('sibling async flows never see each other\'s locks', async () => {
    const { config, state, decision } = setup();
    const bothInside = deferred();
    let inside = 0;
    const sibling = (key: string) =>
      withLock(
        decision,
        async () => {
          if (++inside === 2) bothInside.resolve();
          await bothInside.promise;
          return heldLocks();
        },
        { key },
      );
    const [a, b] = await withLock(config, () =>
      withLock(state, () => Promise.all([sibling('bot-a'), sibling('bot-b')]), { key: 's' }),
    );
    expect(a).toEqual(['config', 'state[s]', 'decision[bot-a]']);
    expect(b).toEqual(['config', 'state[s]', 'decision[bot-b]']);
  });

  it('a released lock no longer constrains flows it spawned', async () => {
    const { config, state } = setup();
    const gate = deferred();
    let later: Promise<string[]> | undefined;
    await withLock(state, () => {
      // Fire-and-forget child that outlives the lock it was started under.
      later = gate.promise.then(() => withLock(config, () => heldLocks()));
    }, { key: 's' });
    gate.resolve();
    await expect(later).resolves.toEqual(['config']);
  });

  it('withLocks sorts its requests into hierarchy order', async () => {
    const { config, state, database } = setup();
    const seen = await withLocks(
      [
        { lock: database },
        { lock: state, key: 's1', mode: 'read' },
        { lock: config },
      ],
      () => heldLocks(),
    );
    expect(seen).toEqual(['config', 'state[s1]', 'database']);
  });

  it('names the task in reports', async () => {
    const { config, manager } = setup();
    const release = deferred();
    // Uncontended: granted synchronously, so the hold is visible right away.
    const running = runInTask('pdca-cycle', () => withLock(config, () => release.promise));
    expect(manager.getReport().held).toEqual([
      expect.objectContaining({ lock: 'config', task: 'pdca-cycle', mode: 'write', kind: 'mutex', order: 1 }),
    ]);
    release.resolve();
    await running;
    expect(manager.getReport().held).toEqual([]);
  });

  it('rejects a key on a plain lock and a missing key on a family', async () => {
    const { config, state } = setup();
    await expect(withLock(config, () => 0, { key: 'x' } as never)).rejects.toBeInstanceOf(TypeError);
    await expect(withLock(state, () => 0, {} as never)).rejects.toBeInstanceOf(TypeError);
  });
});
