import { Logger } from '@nestjs/common';
import { ABANDONED } from './pdca-cycle.store';
import { PdcaBusyError } from './pdca.errors';
import { PDCA_FLAG, PDCA_REAPER_INTERVAL, PDCA_SCHEDULE_INTERVAL, type PdcaEvents } from './pdca.service';
import { createPdcaHarness, type PdcaHarness } from './pdca.test-kit';
import type { PdcaPlanner, PlanningContext } from './pdca.types';
import { BuiltInPlanner } from './planners/built-in.planner';
import { PDCA_MACRO_FILE } from './strategy';

type PhaseEvent = PdcaEvents['phase'][0];
type FinishedEvent = PdcaEvents['cycle.finished'][0];

/**
 * Lets the promise chains run (real setImmediate turns; fake time does not move) until `cond`
 * holds. Database writes are synchronous better-sqlite3 calls inside promises, so a few turns do.
 */
async function settle(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await jest.advanceTimersByTimeAsync(0);
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

describe('PdcaService (fake timers drive the phases)', () => {
  let h: PdcaHarness;
  let phases: PhaseEvent[];
  let finished: FinishedEvent[];

  async function harness(...args: Parameters<typeof createPdcaHarness>): Promise<PdcaHarness> {
    h = await createPdcaHarness(...args);
    phases = [];
    finished = [];
    h.service.events.on('phase', (e) => phases.push(e));
    h.service.events.on('cycle.finished', (e) => finished.push(e));
    return h;
  }

  const entered = (phase: string, cycle = 1) => phases.some((p) => p.to === phase && p.cycle_id === cycle);
  const ended = (cycle = 1) => finished.find((f) => f.cycle_id === cycle);

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(async () => {
    await h?.close();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('runs PLAN → DO → (exactly the execution period) → CHECK → ACT → IDLE, persisting and emitting every transition', async () => {
    await harness();
    const t0 = Date.now();
    const started = await h.service.trigger('manual', 'unit test');
    expect(started).toEqual({ cycle_id: 1, strategy_id: 'pdca-1' });
    await settle(() => entered('DO') && h.macros.deploys.length === 1, 'DO deploys');
    expect(await h.service.status()).toMatchObject({ cycle_running: true, current_phase: 'DO', current_cycle: { cycle_id: 1, status: 'running', local: true } });
    expect(await h.flags.isSet(PDCA_FLAG)).toBe(true);

    await jest.advanceTimersByTimeAsync(299_999);
    expect(entered('CHECK')).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await settle(() => ended() !== undefined, 'the cycle to end');

    expect(phases.map((p) => `${p.from}->${p.to}`)).toEqual(['IDLE->PLAN', 'PLAN->DO', 'DO->CHECK', 'CHECK->ACT', 'ACT->IDLE']);
    const at = Object.fromEntries(phases.map((p) => [p.to, p.at - t0]));
    expect(at).toEqual({ PLAN: 0, DO: 0, CHECK: 300_000, ACT: 300_000, IDLE: 300_000 });
    expect(ended()).toMatchObject({ status: 'completed', error: null });

    const row = (await h.store.get(1))!;
    expect(row.status).toBe('completed');
    expect(row.phases.map((p) => p.phase)).toEqual(['IDLE', 'PLAN', 'DO', 'CHECK', 'ACT', 'IDLE']);
    expect(row.phases.map((p) => p.at - t0)).toEqual([0, 0, 0, 300_000, 300_000, 300_000]);
    expect(row).toMatchObject({ trigger_type: 'manual', trigger_reason: 'unit test', strategy_id: 'pdca-1', planner: 'built-in', decision: 'keep', owner: 'engine-a' });
    expect(row.strategy).toMatchObject({ id: 'pdca-1', plan_type: 'combat', character: 'Knight1' });
    expect(row.deployment).toMatchObject({ file: PDCA_MACRO_FILE, status: 'loaded', macros: ['pdca_combat', 'pdca_combat_potion'] });
    expect(row.outcome).toMatchObject({ verdict: 'insufficient_data', samples: 0 });
    expect(h.macros.deploys[0].content).toContain('# PDCA strategy pdca-1 (combat');
    expect(await h.flags.isSet(PDCA_FLAG)).toBe(false);
    expect(await h.service.status()).toMatchObject({ cycle_running: false, current_phase: 'IDLE', cycle_count: 1, current_cycle: null, last_cycle: { cycle_id: 1, status: 'completed' } });
  });

  it('20 concurrent triggers: exactly one starts, 19 get PdcaBusyError (409 BUSY) at once', async () => {
    await harness();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => h.service.trigger('manual', `t${i}`)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const busy = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(busy).toHaveLength(19);
    for (const r of busy) {
      expect(r.reason).toBeInstanceOf(PdcaBusyError);
      expect((r.reason as PdcaBusyError).status).toBe(409);
      expect((r.reason as PdcaBusyError).code).toBe('BUSY');
    }
    expect(await h.store.list({ limit: 50 })).toHaveLength(1);
    // Still refused while it runs (the running cycle is the in-process double check).
    await settle(() => entered('DO'), 'DO');
    await expect(h.service.trigger('manual', 'late')).rejects.toBeInstanceOf(PdcaBusyError);
  });

  it('refuses at once while another process holds pdca_running; starts once it is released', async () => {
    await harness();
    const other = h.otherProcess();
    const lease = await other.flags.tryAcquire(PDCA_FLAG, 30_000, { heartbeat: false });
    expect(lease).not.toBeNull();
    const err = await h.service.trigger('manual', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PdcaBusyError);
    expect((err as PdcaBusyError).details).toMatchObject({ scope: 'cluster', holder: 'engine-b' });
    expect(await h.store.list({ limit: 10 })).toHaveLength(0);
    await other.flags.release(lease!);
    await expect(h.service.trigger('manual', 'x')).resolves.toMatchObject({ cycle_id: 1 });
  });

  it('stop during the execution period ends the cycle at once (status stopped, no CHECK); a new trigger then succeeds', async () => {
    await harness();
    await h.service.trigger('manual', 'to stop');
    await settle(() => entered('DO') && h.macros.deploys.length === 1, 'DO');
    const before = Date.now();
    const result = await h.service.stop();
    expect(result).toEqual({ cycle_id: 1, stop_requested: true, status: 'stopped' });
    expect(Date.now() - before).toBe(0); // no (fake) time had to pass
    expect(entered('CHECK')).toBe(false);
    expect(await h.store.get(1)).toMatchObject({ status: 'stopped', error: 'stopped on request', current_phase: 'IDLE' });
    expect(await h.flags.isSet(PDCA_FLAG)).toBe(false);
    await expect(h.service.trigger('manual', 'again')).resolves.toMatchObject({ cycle_id: 2 });
  });

  it('a stop requested by another process (stop_requested_at) ends the cycle within the poll period', async () => {
    await harness();
    await h.service.trigger('manual', 'remote stop');
    await settle(() => entered('DO'), 'DO');
    const other = h.otherProcess();
    expect(await other.store.requestStop(1, Date.now())).toBe(true);
    await jest.advanceTimersByTimeAsync(250);
    await settle(() => ended() !== undefined, 'the stop');
    expect(ended()).toMatchObject({ status: 'stopped' });
    expect((await h.store.get(1))!.status).toBe('stopped');
  });

  it('with nothing running, stop reports so', async () => {
    await harness();
    await expect(h.service.stop()).resolves.toEqual({ cycle_id: null, stop_requested: false, status: null });
  });

  it('a lost lease (another process took pdca_running over) fails the cycle', async () => {
    await harness({ leaseTtlMs: 3_000 });
    await h.service.trigger('manual', 'lease');
    await settle(() => entered('DO'), 'DO');
    // What a process that found the lease expired does: take the flag over (fencing token + 1).
    h.db.connection.prepare(`UPDATE process_flags SET owner = 'engine-b', token = token + 1 WHERE name = ?`).run(PDCA_FLAG);
    await jest.advanceTimersByTimeAsync(1_000); // the next heartbeat (every ttl/3) finds the lease gone
    await settle(() => ended() !== undefined, 'the cycle to fail');
    expect(ended()).toMatchObject({ status: 'failed' });
    expect((await h.store.get(1))!.error).toMatch(/lease was lost/);
    expect(await h.flags.get(PDCA_FLAG)).toMatchObject({ owner: 'engine-b' }); // the release matched nothing
  });

  it.each([
    ['keep', [1, 1, 1, 1, 0], undefined],
    ['adjust', [1, 1, 0, 0, 0], 'adjusted'],
    ['rollback', [0, 0, 0, 0, 1], 'rolled_back'],
  ] as const)('ACT %s for outcomes %j', async (decision, outcomes, flag) => {
    await harness({ executionPeriodMs: 1_000 });
    h.macros.files.set(PDCA_MACRO_FILE, 'macro previous {\n    log before\n}\n');
    h.metrics.success = [...outcomes];
    await h.service.trigger('manual', decision);
    await settle(() => entered('DO'), 'DO');
    await jest.advanceTimersByTimeAsync(1_000);
    await settle(() => ended() !== undefined, 'the cycle to end');
    const row = (await h.store.get(1))!;
    expect(row).toMatchObject({ status: 'completed', decision });
    expect(row.outcome).toMatchObject({ samples: 5, verdict: decision === 'keep' ? 'success' : 'failure' });
    if (flag) expect(row.deployment).toMatchObject({ [flag]: true });
    const served = h.macros.files.get(PDCA_MACRO_FILE)!;
    if (decision === 'keep') {
      expect(h.macros.deploys).toHaveLength(1);
      expect(served).toContain('pdca-1');
    } else if (decision === 'adjust') {
      expect(h.macros.deploys).toHaveLength(2);
      expect(served).not.toEqual(h.macros.deploys[0].content);
      expect(served).toContain('pause 1.5');
      expect(row.outcome!.act!.adjustments!.length).toBeGreaterThan(0);
    } else {
      expect(h.macros.deploys).toHaveLength(2);
      expect(served).toBe('macro previous {\n    log before\n}\n');
    }
  });

  it('a rollback with nothing served before DO deploys a comment-only file (no PDCA macro left)', async () => {
    await harness({ executionPeriodMs: 10 });
    h.metrics.success = [0, 0, 0, 0, 0];
    await h.service.trigger('manual', 'rollback to nothing');
    await settle(() => entered('DO'), 'DO');
    await jest.advanceTimersByTimeAsync(10);
    await settle(() => ended() !== undefined, 'end');
    expect((await h.store.get(1))!.decision).toBe('rollback');
    expect(h.macros.files.get(PDCA_MACRO_FILE)).toMatch(/^# PDCA: no strategy deployed/);
  });

  it('a refused deployment fails the cycle and releases the lease', async () => {
    await harness();
    h.macros.fail = new Error('validation refused');
    await h.service.trigger('manual', 'bad deploy');
    await settle(() => ended() !== undefined, 'end');
    expect(ended()).toMatchObject({ status: 'failed' });
    expect((await h.store.get(1))!.error).toContain('validation refused');
    expect((await h.store.get(1))!.phases.map((p) => p.phase)).toEqual(['IDLE', 'PLAN', 'DO', 'IDLE']);
    expect(await h.flags.isSet(PDCA_FLAG)).toBe(false);
  });

  it('a stop during a slow deployment ends the cycle at once; the deployment finishes on its own', async () => {
    await harness();
    let open!: () => void;
    h.macros.gate = new Promise<void>((resolve) => (open = resolve));
    await h.service.trigger('manual', 'slow deploy');
    await settle(() => entered('DO'), 'DO');
    await expect(h.service.stop()).resolves.toEqual({ cycle_id: 1, stop_requested: true, status: 'stopped' });
    expect((await h.store.get(1))!.phases.map((p) => p.phase)).toEqual(['IDLE', 'PLAN', 'DO', 'IDLE']);
    open();
    await settle(() => h.macros.deploys.length === 1, 'the deployment to land');
    expect((await h.store.get(1))!.status).toBe('stopped');
  });

  it('a planner that hangs is interrupted by stop (the planner gets the signal)', async () => {
    let seen: AbortSignal | undefined;
    const hanging: PdcaPlanner = {
      name: 'hanging',
      plan: (_ctx: PlanningContext, signal: AbortSignal) => {
        seen = signal;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      },
    };
    await harness({}, hanging);
    await h.service.trigger('manual', 'hang');
    await settle(() => entered('PLAN') && seen !== undefined, 'PLAN');
    await expect(h.service.stop()).resolves.toMatchObject({ status: 'stopped' });
    expect(seen!.aborted).toBe(true);
  });

  it('scheduled ticks start cycles every PDCA_INTERVAL_MS; a tick finding one running is skipped and logged; intervals go on destroy', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await harness({ intervalMs: 60_000, executionPeriodMs: 100_000 });
    await h.service.onApplicationBootstrap();
    expect(h.scheduler.getIntervals().sort()).toEqual([PDCA_REAPER_INTERVAL, PDCA_SCHEDULE_INTERVAL].sort());
    await jest.advanceTimersByTimeAsync(60_000);
    await settle(() => entered('DO'), 'the scheduled cycle');
    expect(await h.store.get(1)).toMatchObject({ trigger_type: 'scheduled', trigger_reason: 'interval' });
    await jest.advanceTimersByTimeAsync(60_000);
    await settle(async () => (await h.service.status()).scheduler.skipped_ticks === 1, 'a skipped tick');
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ skipped_ticks: 1 }), 'scheduled PDCA tick skipped: a cycle is already running');
    expect(await h.store.list({ limit: 10 })).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(40_000); // cycle 1 ends at 160 s; the tick at 180 s starts cycle 2
    await settle(() => ended(1) !== undefined, 'cycle 1');
    await jest.advanceTimersByTimeAsync(20_000);
    await settle(() => entered('DO', 2), 'cycle 2');
    await h.service.onModuleDestroy();
    expect(h.scheduler.getIntervals()).toEqual([]);
    expect(await h.store.get(2)).toMatchObject({ status: 'stopped', error: 'the engine is shutting down' });
    await expect(h.service.trigger('manual', 'after shutdown')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('start-up recovery fails a row left running by a dead process, keeps a live one, and fails it once its lease expires', async () => {
    await harness({ leaseTtlMs: 5_000 });
    // A process killed mid-cycle (kill -9): its row stays running, its lease is long gone.
    const dead = h.otherProcess('engine-dead');
    const deadId = await dead.store.begin({ trigger_type: 'manual', trigger_reason: 'killed', owner: 'engine-dead', lease_token: 1, at: Date.now() - 60_000 });
    await h.service.onApplicationBootstrap();
    expect(await h.store.get(deadId)).toMatchObject({ status: 'failed', error: ABANDONED, current_phase: 'IDLE' });

    // A live cycle of a third process (valid lease, no heartbeat: it is about to die too).
    const third = h.otherProcess('engine-c');
    const lease = await third.flags.tryAcquire(PDCA_FLAG, 5_000, { heartbeat: false });
    const liveId = await third.store.begin({ trigger_type: 'manual', trigger_reason: 'live', owner: 'engine-c', lease_token: lease!.token, at: Date.now() });
    expect(await h.service.reap()).toEqual([]);
    expect((await h.store.get(liveId))!.status).toBe('running');
    expect(await h.service.status()).toMatchObject({ cycle_running: true, current_cycle: { cycle_id: liveId, local: false, owner: 'engine-c' } });
    await expect(h.service.trigger('manual', 'busy')).rejects.toBeInstanceOf(PdcaBusyError);

    await jest.advanceTimersByTimeAsync(5_000); // its lease expires; the reaper runs every lease TTL
    await settle(async () => (await h.store.get(liveId))!.status === 'failed', 'the reaper');
    expect((await h.store.get(liveId))!.error).toBe(ABANDONED);
    expect(await h.service.status()).toMatchObject({ cycle_running: false, current_cycle: null });
    await expect(h.service.trigger('manual', 'free')).resolves.toMatchObject({ cycle_id: liveId + 1 });
  });

  it('a failing event listener does not break the cycle; the phase gauge and cycle counter are registered', async () => {
    await harness({ executionPeriodMs: 10 });
    h.service.onModuleInit();
    expect(h.metrics.gauges).toEqual(['openkore_pdca_phase', 'openkore_pdca_cycles_total']);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    h.service.events.on('phase', () => {
      throw new Error('listener bug');
    });
    await h.service.trigger('manual', 'listener');
    await settle(() => entered('DO'), 'DO');
    await jest.advanceTimersByTimeAsync(10);
    await settle(() => ended() !== undefined, 'end');
    expect(ended()).toMatchObject({ status: 'completed' });
  });

  it('passes the freshest states, the decision stats and the previous verdict to the planner', async () => {
    const contexts: PlanningContext[] = [];
    const builtIn = new BuiltInPlanner();
    const spy: PdcaPlanner = { name: 'spy', plan: (ctx) => (contexts.push(ctx), builtIn.plan(ctx)) };
    await harness({ executionPeriodMs: 10 }, spy);
    h.metrics.success = [0, 0, 0, 0, 0];
    for (const n of [1, 2]) {
      await h.service.trigger('manual', `c${n}`);
      await settle(() => entered('DO', n), 'DO');
      await jest.advanceTimersByTimeAsync(10);
      await settle(() => ended(n) !== undefined, 'end');
    }
    expect(contexts[0]).toMatchObject({ strategy_id: 'pdca-1', previous: null, decision_stats: { total_decisions: 10 } });
    expect(contexts[0].states[0].character).toBe('Knight1');
    expect(contexts[1].previous).toMatchObject({ strategy: { plan_type: 'combat' }, decision: 'rollback' });
    // The built-in planner does not repeat a plan type that was just rolled back.
    expect((await h.store.get(2))!.strategy!.plan_type).toBe('farming');
  });

  it('the history is newest first and paginated', async () => {
    await harness({ executionPeriodMs: 10 });
    for (let n = 1; n <= 3; n++) {
      await h.service.trigger('manual', `c${n}`);
      await settle(() => entered('DO', n), 'DO');
      await jest.advanceTimersByTimeAsync(10);
      await settle(() => ended(n) !== undefined, 'end');
    }
    const first = await h.service.history({ limit: 2 });
    expect(first.cycles.map((c) => c.cycle_id)).toEqual([3, 2]);
    expect(first.next_before).toBe(2);
    const second = await h.service.history({ limit: 2, before: first.next_before! });
    expect(second.cycles.map((c) => c.cycle_id)).toEqual([1]);
    expect(second.next_before).toBeNull();
    expect((await h.service.history({ limit: 5, status: 'failed' })).cycles).toEqual([]);
  });
});
