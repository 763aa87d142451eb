import { LockAbortedError, LockOrderViolationError, LockTimeoutError, QueueFullError } from './concurrency.errors';
import { flushMicrotasks, RecordingLogger, times, track } from './concurrency.test-kit';
import { heldLocks, RequestScope } from './lock-context';
import { createLockManager } from './lock-manager.service';
import { LockName, LockOrder } from './lock-order.enum';
import { SessionSerializer, type SessionSerializerOptions, type SessionTurn } from './session-serializer';
import { withLock } from './with-lock';

const serializer = (options?: SessionSerializerOptions) => {
  const manager = createLockManager({ logger: new RecordingLogger() });
  return { manager, sessions: new SessionSerializer(manager, options) };
};

describe('SessionSerializer', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it("gives a session's requests their turn one at a time, in arrival order", async () => {
    const { sessions } = serializer();
    const order: number[] = [];
    let inTurn = 0;
    const request = async (i: number) => {
      const end = await sessions.acquireTurn('bot-1');
      order.push(i);
      expect(++inTurn).toBe(1);
      await flushMicrotasks();
      inTurn--;
      end();
    };
    await Promise.all(times(20, request));
    expect(order).toEqual(times(20, (i) => i));
  });

  it('try-acquires a turn only when the session and a global slot are both free, counting no contention otherwise', async () => {
    const { sessions, manager } = serializer({ maxInFlight: 1 });
    const a = sessions.tryAcquireTurn('bot-a');
    expect(a).toBeDefined();
    // Same session busy: nothing queued.
    expect(sessions.tryAcquireTurn('bot-a')).toBeUndefined();
    expect(sessions.queueDepth('bot-a')).toBe(0);
    // Other session free but no slot: its turn is given back, not kept.
    expect(sessions.tryAcquireTurn('bot-b')).toBeUndefined();
    expect(sessions.stats()).toMatchObject({ inFlight: 1, activeSessions: 1, waitingForSlot: 0, queued: 0 });
    expect(manager.contention().reduce((n, row) => n + row.contentions + row.timeouts, 0)).toBe(0);
    a!();
    const b = sessions.tryAcquireTurn('bot-b');
    expect(b).toBeDefined();
    b!();
    expect(sessions.stats()).toMatchObject({ inFlight: 0, activeSessions: 0 });
  });

  it('runs different sessions concurrently', async () => {
    const { sessions } = serializer();
    const a = await sessions.acquireTurn('bot-a');
    const b = track(sessions.acquireTurn('bot-b'));
    await flushMicrotasks();
    expect(b.fulfilled).toBe(true);
    expect(sessions.inFlight).toBe(2);
    a();
    b.value!();
    expect(sessions.stats()).toMatchObject({ inFlight: 0, activeSessions: 0, queued: 0 });
  });

  it('refuses the 1001st waiter of a session at once with QUEUE_FULL', async () => {
    const { sessions } = serializer();
    const current = await sessions.acquireTurn('bot-1');
    const waiting = times(1000, () => track(sessions.acquireTurn('bot-1')));
    expect(sessions.queueDepth('bot-1')).toBe(1000);
    const refused = sessions.acquireTurn('bot-1');
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({ code: 'QUEUE_FULL', status: 429 });
    // Other sessions are unaffected.
    const other = await sessions.acquireTurn('bot-2');
    other();
    expect(sessions.stats()).toMatchObject({ queued: 1000, queueDepth: { 'bot-1': 1000 }, rejectedQueueFull: 1 });

    current();
    for (const w of waiting) {
      await flushMicrotasks();
      expect(w.fulfilled).toBe(true);
      w.value!();
    }
    expect(sessions.stats().activeSessions).toBe(0);
  });

  it('honours a configured depth limit', async () => {
    const { sessions } = serializer({ maxQueueDepth: 2 });
    const current = await sessions.acquireTurn('s');
    const queued = [track(sessions.acquireTurn('s')), track(sessions.acquireTurn('s'))];
    await expect(sessions.acquireTurn('s')).rejects.toBeInstanceOf(QueueFullError);
    current();
    await flushMicrotasks();
    queued[0].value!();
    await flushMicrotasks();
    queued[1].value!();
    expect(sessions.stats().activeSessions).toBe(0);
  });

  it('never has more than 100 turns in flight across sessions; the rest wait their turn', async () => {
    const { sessions } = serializer();
    const turns = times(150, (i) => track(sessions.acquireTurn(`bot-${i}`)));
    await flushMicrotasks();
    expect(turns.filter((t) => t.fulfilled)).toHaveLength(100);
    expect(sessions.stats()).toMatchObject({ inFlight: 100, maxInFlight: 100, waitingForSlot: 50 });

    // Slots go to waiting sessions in arrival order as turns end.
    turns[0].value!();
    await flushMicrotasks();
    expect(turns[100].fulfilled).toBe(true);
    expect(turns[101].fulfilled).toBe(false);
    for (let i = 1; i < 150; i++) {
      await flushMicrotasks();
      expect(sessions.inFlight).toBeLessThanOrEqual(100);
      turns[i].value!();
    }
    expect(sessions.stats()).toMatchObject({ inFlight: 0, waitingForSlot: 0, activeSessions: 0 });
  });

  it('an aborted waiter frees its place: the next request gets the turn', async () => {
    const { sessions } = serializer();
    const first = await sessions.acquireTurn('s');
    const controller = new AbortController();
    const aborted = track(sessions.acquireTurn('s', { signal: controller.signal }));
    const third = track(sessions.acquireTurn('s'));
    controller.abort();
    await flushMicrotasks();
    expect(aborted.error).toBeInstanceOf(LockAbortedError);
    first();
    await flushMicrotasks();
    expect(third.fulfilled).toBe(true);
    third.value!();
    expect(sessions.stats().activeSessions).toBe(0);
  });

  it('aborting while waiting for a global slot gives the session turn back', async () => {
    const { sessions } = serializer({ maxInFlight: 1 });
    const busy = await sessions.acquireTurn('other');
    const controller = new AbortController();
    const waitingForSlot = track(sessions.acquireTurn('s', { signal: controller.signal }));
    const next = track(sessions.acquireTurn('s'));
    await flushMicrotasks();
    expect(sessions.stats()).toMatchObject({ waitingForSlot: 1, queueDepth: { s: 1 } });
    controller.abort();
    await flushMicrotasks();
    expect(waitingForSlot.error).toBeInstanceOf(LockAbortedError);
    expect(sessions.stats()).toMatchObject({ waitingForSlot: 1, queued: 0 }); // `next` has the turn, waits for a slot
    busy();
    await flushMicrotasks();
    expect(next.fulfilled).toBe(true);
    next.value!();
  });

  it('bounds the whole wait by the request timeout (default 30 s)', async () => {
    const { sessions } = serializer();
    const first = await sessions.acquireTurn('s');
    const late = track(sessions.acquireTurn('s'));
    jest.advanceTimersByTime(29_999);
    await flushMicrotasks();
    expect(late.settled).toBe(false);
    jest.advanceTimersByTime(1);
    await flushMicrotasks();
    expect(late.error).toBeInstanceOf(LockTimeoutError);
    first();
    expect(sessions.stats().activeSessions).toBe(0);
  });

  it('turn.run() puts the SESSION lock on the held-lock stack of the handler', async () => {
    const { sessions, manager } = serializer();
    const config = manager.mutex(LockName.CONFIG, LockOrder.CONFIG);
    const state = manager.keyedRwLock(LockName.STATE, LockOrder.STATE);
    const turn: SessionTurn = await sessions.acquireTurn('bot-1');
    expect(turn.sessionId).toBe('bot-1');
    // Without run(): the caller's context does not contain the turn.
    expect(heldLocks()).toEqual([]);
    await turn.run(async () => {
      expect(heldLocks()).toEqual(['session[bot-1]']);
      await expect(withLock(state, () => heldLocks(), { key: 'bot-1' })).resolves.toEqual([
        'session[bot-1]',
        'state[bot-1]',
      ]);
      await expect(withLock(config, () => 0)).rejects.toBeInstanceOf(LockOrderViolationError);
    });
    turn();
    turn();
    expect(sessions.stats()).toMatchObject({ inFlight: 0, activeSessions: 0 });
  });

  it('turn.holdFor(scope): every flow of a request scope nests under the turn from then on, and stops with it', async () => {
    const { sessions, manager } = serializer();
    const config = manager.mutex(LockName.CONFIG, LockOrder.CONFIG);
    const state = manager.keyedRwLock(LockName.STATE, LockOrder.STATE);
    const scope = new RequestScope('request r-1');
    let resume!: () => void;
    // A flow of the request that began before the turn was granted (an await in a guard).
    const earlier = scope.run(async () => {
      await new Promise<void>((r) => (resume = r));
      return heldLocks();
    });
    const turn = await sessions.acquireTurn('bot-1');
    turn.holdFor(scope);
    expect(() => turn.holdFor(scope)).toThrow(/already holds/);
    resume();
    await expect(earlier).resolves.toEqual(['session[bot-1]']);
    await expect(scope.run(() => withLock(state, () => heldLocks(), { key: 'bot-1' }))).resolves.toEqual(['session[bot-1]', 'state[bot-1]']);
    await expect(scope.run(() => withLock(config, () => 0))).rejects.toBeInstanceOf(LockOrderViolationError);
    turn();
    // Released: later flows of the scope hold nothing, and CONFIG is fine again.
    await expect(scope.run(() => withLock(config, () => heldLocks()))).resolves.toEqual(['config']);
    expect(sessions.stats()).toMatchObject({ inFlight: 0, activeSessions: 0 });
  });
});
