import {
  DeadlockError,
  LockManager,
  LockName,
  LockOrderViolationError,
  lockToken,
  runInTask,
  withLock,
  type Lockable,
} from '../../src/common/concurrency';
import { startEngine, type RunningEngine } from '../support/engine';
import { report, within } from './support';

const ROUNDS = 60;
/** Flows taking the same two locks in hierarchy order beside each crossing pair: plain contention, never a deadlock. */
const BYSTANDERS = 4;
/** Guards against a hang only: longer than the locks' own 5 s bound, so a missed deadlock shows as the wrong error, not as this. */
const ROUND_GUARD_MS = 15_000;

type Outcome = { ok: true; flow: string } | { ok: false; flow: string; error: unknown };

function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === n) open();
    return all;
  };
}

/** Takes `first`, waits until both crossing flows hold their first lock, then takes `second` (the spec's A→B / B→A). */
function crossing(name: string, first: [Lockable, string?], second: [Lockable, string?], arrive: () => Promise<void>): Promise<Outcome> {
  const opts = (key?: string) => (key === undefined ? {} : { key });
  return runInTask(name, () =>
    withLock(
      first[0] as never,
      async () => {
        await arrive();
        await withLock(second[0] as never, () => undefined, opts(second[1]) as never);
      },
      opts(first[1]) as never,
    ),
  ).then(
    (): Outcome => ({ ok: true, flow: name }),
    (error: unknown): Outcome => ({ ok: false, flow: name, error }),
  );
}

/**
 * Contends for the same locks the right way: both in hierarchy order when their levels differ,
 * one after the other (never nested) for two keys of one level.
 */
function bystander(name: string, first: [Lockable, string?], second: [Lockable, string?]): Promise<Outcome> {
  const take = (l: [Lockable, string?], fn: () => unknown) => withLock(l[0] as never, fn as never, (l[1] === undefined ? {} : { key: l[1] }) as never);
  const run = first[1] === undefined ? () => take(first, () => take(second, () => undefined)) : async () => {
    await take(first, () => undefined);
    await take(second, () => undefined);
  };
  return runInTask(name, run).then(
    (): Outcome => ({ ok: true, flow: name }),
    (error: unknown): Outcome => ({ ok: false, flow: name, error }),
  );
}

/**
 * DEADLOCK: the spec's scenario — two flows taking two locks in opposite order — through the
 * engine's own lock providers (the instances `@InjectLock` hands to services), round after
 * round, with bystanders contending for the same locks in order. In the engine's default mode
 * (`LOCK_ORDER_MODE=throw`) the hierarchy refuses the reversed acquisition; in production's
 * `log` mode the violation proceeds and the wait-for graph must catch the cycle (one flow fails
 * with DEADLOCK at once, the other completes). Either way nothing waits for a lock's timeout.
 */
describe('stress: the deadlock scenario through the real lock providers', () => {
  let e: RunningEngine;
  let manager: LockManager;

  beforeAll(async () => {
    e = await startEngine();
    manager = e.engine.app.get(LockManager);
  });
  afterAll(async () => {
    manager.setOrderMode('throw');
    await e.stop();
  });

  const model = () => e.engine.app.get(lockToken(LockName.MODEL)) as Lockable;
  const metrics = () => e.engine.app.get(lockToken(LockName.METRICS)) as Lockable;
  const reputation = () => e.engine.app.get(lockToken(LockName.REPUTATION)) as Lockable;

  /** The pairs crossed each round: two levels (MODEL 6 / METRICS 8), and two keys of one keyed family (equal levels never nest). */
  const pairs = (): Array<{ label: string; a: [Lockable, string?]; b: [Lockable, string?] }> => [
    { label: 'model/metrics', a: [model()], b: [metrics()] },
    { label: 'reputation[p1]/reputation[p2]', a: [reputation(), 'p1'], b: [reputation(), 'p2'] },
  ];

  async function round(r: number, pair: ReturnType<typeof pairs>[number]): Promise<Outcome[]> {
    const arrive = barrier(2);
    const flows = [crossing(`A${r}`, pair.a, pair.b, arrive), crossing(`B${r}`, pair.b, pair.a, arrive)];
    const bystanders = Array.from({ length: BYSTANDERS }, (_, i) => bystander(`S${r}.${i}`, pair.a, pair.b));
    return within(ROUND_GUARD_MS, `deadlock round ${r} (${pair.label})`, Promise.all([...flows, ...bystanders]));
  }

  it('throw mode: the hierarchy refuses the reversed acquisition every round; the forward flow and the bystanders complete', async () => {
    manager.setOrderMode('throw');
    const counts = { rounds: 0, refused: 0, completed: 0, bystanders_completed: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      for (const pair of pairs()) {
        const [a, b, ...rest] = await round(r, pair);
        // Whichever flow takes its second lock against the hierarchy is refused; for two keys of one level, both are.
        const refused = [a, b].filter((o) => !o.ok);
        const sameLevel = pair.a[1] !== undefined;
        if (refused.length !== (sameLevel ? 2 : 1) || refused.some((o) => !(o as { error: unknown }).error || !((o as { error: unknown }).error instanceof LockOrderViolationError))) {
          throw new Error(`round ${r} ${pair.label}: expected the reversed acquisition refused with LOCK_ORDER_VIOLATION, got ${outcomesText([a, b])}`);
        }
        if (rest.some((o) => !o.ok)) throw new Error(`round ${r} ${pair.label}: a bystander failed: ${outcomesText(rest)}`);
        counts.rounds++;
        counts.refused += refused.length;
        counts.completed += 2 - refused.length;
        counts.bystanders_completed += rest.length;
      }
    }
    const lockReport = manager.getReport();
    report('deadlock (throw mode: hierarchy)', { ...counts, held_after: lockReport.held.length, waiting_after: lockReport.waiting.length });
    expect(lockReport.held).toEqual([]);
    expect(lockReport.waiting).toEqual([]);
  });

  it('log mode: the detector fails exactly one flow of each cycle with DEADLOCK (never a timeout); the other and the bystanders complete', async () => {
    manager.setOrderMode('log');
    const counts = { rounds: 0, deadlocks: 0, completed: 0, bystanders_completed: 0, cycle_edges: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      for (const pair of pairs()) {
        const [a, b, ...rest] = await round(r, pair);
        const failed = [a, b].filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
        const error = failed[0]?.error;
        if (failed.length !== 1 || !(error instanceof DeadlockError)) {
          throw new Error(`round ${r} ${pair.label}: expected exactly one flow failed with DEADLOCK, got ${outcomesText([a, b])}`);
        }
        const edges = error.cycle.map((x) => `${x.task}>${x.heldBy}`).sort();
        if (edges.join() !== [`A${r}>B${r}`, `B${r}>A${r}`].join()) throw new Error(`round ${r} ${pair.label}: unexpected cycle ${JSON.stringify(error.cycle)}`);
        const recorded = manager.getReport().deadlocks.at(-1);
        if (JSON.stringify(recorded?.cycle) !== JSON.stringify(error.cycle)) throw new Error(`round ${r} ${pair.label}: the detector's report does not show the cycle`);
        if (rest.some((o) => !o.ok)) throw new Error(`round ${r} ${pair.label}: a bystander failed: ${outcomesText(rest)}`);
        counts.rounds++;
        counts.deadlocks++;
        counts.completed++;
        counts.bystanders_completed += rest.length;
        counts.cycle_edges += error.cycle.length;
      }
    }
    const lockReport = manager.getReport();
    report('deadlock (log mode: detector)', { ...counts, order_violations_logged: lockReport.orderViolations.total, held_after: lockReport.held.length, waiting_after: lockReport.waiting.length });
    expect(lockReport.held).toEqual([]);
    expect(lockReport.waiting).toEqual([]);
  });
});

function outcomeText(o: Outcome): string {
  if (o.ok) return `${o.flow}: completed`;
  const err = o.error as { code?: string; message?: string };
  return `${o.flow}: ${err?.code ?? 'error'} ${err?.message ?? String(o.error)}`;
}

function outcomesText(outcomes: Outcome[]): string {
  return outcomes.map(outcomeText).join('; ');
}
