import fc from 'fast-check';
import { LockAbortedError, LockTimeoutError } from './concurrency.errors';
import { RecordingLogger } from './concurrency.test-kit';
import type { Hold } from './hold';
import { lockScope } from './lock-context';
import { createLockManager, type LockManager } from './lock-manager.service';
import { LockOrder } from './lock-order.enum';
import type { LockMode } from './ordered-lock';
import { type Lockable, withLock } from './with-lock';

/**
 * Random schedules: fast-check's scheduler decides when each flow starts,
 * every await inside the critical section, when abort signals fire and when
 * the (fake) clock ticks, so timeouts land at random points too.
 */

interface FlowSpec {
  mode: LockMode;
  /** Awaits inside the critical section. */
  holdSteps: number;
  /** Wait bound in fake-clock ms; the clock ticks 1 ms per scheduled step. */
  timeoutMs: number;
  /** Abort the wait after this many scheduled steps (null: never). */
  abortAfter: number | null;
}

const flowSpec = (modes: LockMode[]): fc.Arbitrary<FlowSpec> =>
  fc.record({
    mode: fc.constantFrom(...modes),
    holdSteps: fc.integer({ min: 0, max: 4 }),
    timeoutMs: fc.integer({ min: 1, max: 12 }),
    abortAfter: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
  });

interface LockKindUnderTest {
  name: string;
  capacity: number;
  modes: LockMode[];
  make(manager: LockManager): { lock: Lockable; key?: string; idle: () => boolean };
}

const kinds: LockKindUnderTest[] = [
  {
    name: 'mutex',
    capacity: 1,
    modes: ['write'],
    make: (m) => {
      const lock = m.mutex('m', LockOrder.STATE);
      return { lock, idle: () => lock.idle };
    },
  },
  {
    name: 'semaphore(2)',
    capacity: 2,
    modes: ['write'],
    make: (m) => {
      const lock = m.semaphore('s', LockOrder.STATE, 2);
      return { lock, idle: () => lock.idle };
    },
  },
  {
    name: 'rw lock',
    capacity: 1,
    modes: ['read', 'write'],
    make: (m) => {
      const lock = m.rwLock('rw', LockOrder.STATE);
      return { lock, idle: () => lock.idle };
    },
  },
  {
    name: 'keyed mutex entry',
    capacity: 1,
    modes: ['write'],
    make: (m) => {
      const lock = m.keyedMutex('k', LockOrder.STATE);
      return { lock, key: 'bot-1', idle: () => lock.size === 0 };
    },
  },
];

interface RunResult {
  /** Per flow: entered the critical section, or the error that kept it out. */
  outcomes: Array<'entered' | Error>;
  /** Flow indices in the order they called withLock. */
  requested: number[];
  /** Per entered flow: its grant sequence number. */
  grantSeq: Map<number, number>;
  maxWriters: number;
  maxInside: number;
  violationsOfRw: number;
  counter: number;
  idle: boolean;
}

async function runSchedule(s: fc.Scheduler, kind: LockKindUnderTest, specs: FlowSpec[]): Promise<RunResult> {
  const manager = createLockManager({ logger: new RecordingLogger() });
  const { lock, key, idle } = kind.make(manager);
  const step = (label: string) => s.schedule(Promise.resolve(), label);
  const result: RunResult = {
    outcomes: [],
    requested: [],
    grantSeq: new Map(),
    maxWriters: 0,
    maxInside: 0,
    violationsOfRw: 0,
    counter: 0,
    idle: false,
  };
  let readers = 0;
  let writers = 0;
  let finished = 0;

  const flows = specs.map(async (spec, i) => {
    const controller = new AbortController();
    const aborter = spec.abortAfter === null ? Promise.resolve() : abortLater(spec.abortAfter, controller, i);
    await step(`start ${i}`);
    result.requested.push(i);
    try {
      await withLock(
        lock,
        async () => {
          result.grantSeq.set(i, (lockScope.getStore() as Hold).grantSeq);
          if (spec.mode === 'write') writers++;
          else readers++;
          result.maxWriters = Math.max(result.maxWriters, writers);
          result.maxInside = Math.max(result.maxInside, readers + writers);
          if (writers > 1 || (writers === 1 && readers > 0)) result.violationsOfRw++;
          // Read-modify-write across awaits: a lost update shows up in `counter`.
          const seen = result.counter;
          for (let k = 0; k < spec.holdSteps; k++) await step(`hold ${i}.${k}`);
          if (spec.mode === 'write') result.counter = seen + 1;
          if (spec.mode === 'write') writers--;
          else readers--;
        },
        { mode: spec.mode, key, timeoutMs: spec.timeoutMs, signal: controller.signal },
      );
      result.outcomes[i] = 'entered';
    } catch (error) {
      result.outcomes[i] = error as Error;
    } finally {
      finished++;
    }
    await aborter;
  });

  async function abortLater(after: number, controller: AbortController, i: number): Promise<void> {
    for (let k = 0; k < after; k++) await step(`abort-wait ${i}.${k}`);
    controller.abort();
  }

  // The clock: each scheduled tick advances fake time by 1 ms, firing due timeouts.
  const clock = (async () => {
    while (finished < specs.length) {
      await step('tick');
      jest.advanceTimersByTime(1);
    }
  })();

  await s.waitAll();
  await Promise.all([...flows, clock]);
  result.idle = idle();
  return result;
}

describe('lock properties under random schedules', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  describe.each(kinds)('$name', (kind) => {
    it('mutual exclusion, FIFO grants, no lost update, bounded outcomes, nothing left behind', async () => {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.array(flowSpec(kind.modes), { minLength: 1, maxLength: 10 }), async (s, specs) => {
          const r = await runSchedule(s, kind, specs);

          // Exclusion: never more than `capacity` writers (exclusive holders) inside.
          expect(r.maxWriters).toBeLessThanOrEqual(kind.capacity);
          if (kind.capacity === 1) expect(r.violationsOfRw).toBe(0);

          // Every flow ended: entered, or was refused by its timeout / abort (and then never entered).
          specs.forEach((_, i) => {
            const outcome = r.outcomes[i];
            if (outcome !== 'entered') {
              expect(outcome instanceof LockTimeoutError || outcome instanceof LockAbortedError).toBe(true);
              expect(r.grantSeq.has(i)).toBe(false);
            }
          });

          // FIFO: grant order is request order (among the flows that got the lock).
          const enteredInRequestOrder = r.requested.filter((i) => r.outcomes[i] === 'entered');
          const byGrant = [...enteredInRequestOrder].sort((a, b) => r.grantSeq.get(a)! - r.grantSeq.get(b)!);
          expect(byGrant).toEqual(enteredInRequestOrder);

          // No lost update: with exclusive writers every write increment survives.
          if (kind.capacity === 1) {
            const writes = specs.filter((spec, i) => spec.mode === 'write' && r.outcomes[i] === 'entered').length;
            expect(r.counter).toBe(writes);
          }

          expect(r.idle).toBe(true);
        }),
        { numRuns: 150 },
      );
    });
  });

  it('a semaphore(3) admits at most 3 at once', async () => {
    const kind: LockKindUnderTest = {
      name: 'semaphore(3)',
      capacity: 3,
      modes: ['write'],
      make: (m) => {
        const lock = m.semaphore('s3', LockOrder.STATE, 3);
        return { lock, idle: () => lock.idle };
      },
    };
    let sawConcurrency = false;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(flowSpec(['write']), { minLength: 1, maxLength: 10 }), async (s, specs) => {
        const r = await runSchedule(s, kind, specs);
        expect(r.maxInside).toBeLessThanOrEqual(3);
        if (r.maxInside > 1) sawConcurrency = true;
        expect(r.idle).toBe(true);
      }),
      { numRuns: 100 },
    );
    // The bound is not vacuous: some schedules did run holders side by side.
    expect(sawConcurrency).toBe(true);
  });
});
