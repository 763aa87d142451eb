import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PeriodicJobs } from '../../common/scheduling';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { detached, runInTask } from '../../common/concurrency';
import { ServiceUnavailableError } from '../../common/errors/app.error';
import { WELL_KNOWN_METRICS } from '../../common/ports/metrics-sources.port';
import { ProcessFlag } from '../flags';
import type { PartialGameState } from '../state';
import { type CycleRecord, PdcaCycleStore } from './pdca-cycle.store';
import { CycleInterrupted, PdcaBusyError } from './pdca.errors';
import { type LeasePort, PDCA_OPTIONS, PDCA_PLANNER, PDCA_PORTS, type PdcaLease, type PdcaOptions, type PdcaPorts } from './pdca.ports';
import {
  type ActResult,
  type CheckOutcome,
  type CycleStatus,
  type Deployment,
  PDCA_PHASES,
  type PdcaPhase,
  type PdcaPlanner,
  type PhaseEntry,
  type PlanningContext,
  type PlanningState,
  type Strategy,
  type TriggerType,
} from './pdca.types';
import { adjustMacros, decideAct, emptyStrategyFile, evaluateOutcome, PDCA_MACRO_FILE, renderStrategyFile } from './strategy';
import { settledWithin } from '../../common/async/wait';

export const PDCA_FLAG = ProcessFlag.PDCA_RUNNING;
export const PDCA_SCHEDULE_INTERVAL = 'pdca.schedule';
export const PDCA_REAPER_INTERVAL = 'pdca.reaper';
/** Polls the stop request of the running cycle (another process may ask for it through the database). */
export const PDCA_STOP_POLL_JOB = 'pdca.stop-poll';
export const DEFAULT_GOAL = 'raise the share of successful decisions of the bots';
/** How long POST /pdca/stop waits to report the cycle's final status (the promise is "within a second"). */
const STOP_REPORT_WAIT_MS = 1_500;
/** States the planner looks at. */
const PLANNING_STATES = 5;

export interface PdcaEvents {
  'cycle.started': [{ cycle_id: number; trigger: TriggerType; reason: string; at: number }];
  phase: [{ cycle_id: number; from: PdcaPhase; to: PdcaPhase; at: number }];
  'cycle.finished': [{ cycle_id: number; status: Exclude<CycleStatus, 'running'>; error: string | null; at: number }];
}

interface RunningCycle {
  id: number;
  strategyId: string;
  trigger: TriggerType;
  reason: string;
  lease: PdcaLease;
  controller: AbortController;
  phase: PdcaPhase;
  phases: PhaseEntry[];
  startedAt: number;
  executionEndsAt: number | null;
  /** What served from PDCA_MACRO_FILE before DO (restored by a rollback). */
  previousContent: string | null;
  deployment: Deployment | null;
  /** Resolves once the cycle has ended: row finished, lease released. Never rejects. */
  done: Promise<void>;
}

export interface CycleView {
  cycle_id: number;
  status: CycleStatus;
  trigger: { type: TriggerType; reason: string };
  current_phase: PdcaPhase;
  phases: Array<{ phase: PdcaPhase; at: string }>;
  strategy: Strategy | null;
  deployment: Deployment | null;
  outcome: CycleRecord['outcome'];
  decision: CycleRecord['decision'];
  error: string | null;
  /** The engine process (flag owner id) that ran it; `local` when it is this one. */
  owner: string;
  local: boolean;
  stop_requested: boolean;
  /** While in DO's execution period (this process's cycle only): when CHECK starts. */
  execution_ends_at: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number;
}

export interface PdcaStatusView {
  cycle_running: boolean;
  current_phase: PdcaPhase;
  /** Cycles finished (completed, failed or stopped) by any process on the database. */
  cycle_count: number;
  current_cycle: CycleView | null;
  last_cycle: CycleView | null;
  scheduler: { interval_ms: number; execution_period_ms: number; lease_ttl_ms: number; next_run_at: string | null; skipped_ticks: number };
  planner: string;
  owner: string;
}

export interface StopResult {
  cycle_id: number | null;
  stop_requested: boolean;
  /** The cycle's status when the answer was sent; `stopping` if it had not ended yet. */
  status: Exclude<CycleStatus, 'running'> | 'stopping' | null;
}

/** Whether the flag's live lease is the one the cycle row was started under (owner and fencing token). */
function holds(flag: Awaited<ReturnType<LeasePort['get']>>, row: CycleRecord): boolean {
  return flag !== null && flag.held && flag.owner === row.owner && flag.token === row.lease_token;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * `p`, or the signal's reason as soon as it aborts: a stop does not wait for a step that cannot
 * be cancelled (a macro deployment runs on, bounded by the macro module, and its outcome is ignored).
 */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * The PDCA cycle manager (docs/architecture.md §8.1). At most one cycle runs at a time across every engine
 * process on the database:
 *  - in-process, starting takes the `pdca` mutex with a zero wait (the spec's try_to_lock): a
 *    second start while one is being started is refused at once; once started, the running
 *    cycle itself refuses further starts (the spec's atomic double check);
 *  - across processes, the cycle holds the `pdca_running` flag (a lease renewed by heartbeat;
 *    a killed holder blocks new cycles until its lease expires, and its row is then failed).
 * Either refusal is 409 BUSY at once. The cycle runs in the background (never in the request
 * that triggered it): PLAN → DO → execution period (interruptible) → CHECK → ACT → IDLE, every
 * transition persisted in `pdca_cycles` and emitted on `events`. A stop (this process, or any
 * other through `stop_requested_at`) ends it at its next step; it ends `stopped`.
 */
@Injectable()
export class PdcaService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PdcaService.name);
  readonly events = new EventEmitter<PdcaEvents>();
  /**
   * A start is under way in this process (it awaits the lease and the cycle's row): a second
   * trigger meanwhile is refused at once. It never waits, so it is a flag, not a lock of the
   * hierarchy; the pdca_running lease is what excludes other processes.
   */
  private starting = false;
  private current: RunningCycle | null = null;
  private closing = false;
  private readonly totals: Record<Exclude<CycleStatus, 'running'>, number> = { completed: 0, failed: 0, stopped: 0 };
  private skippedTicks = 0;
  private nextRunAt: number | null = null;

  constructor(
    @Inject(PDCA_OPTIONS) private readonly options: PdcaOptions,
    private readonly store: PdcaCycleStore,
    @Inject(PDCA_PORTS) private readonly ports: PdcaPorts,
    @Inject(PDCA_PLANNER) private readonly planner: PdcaPlanner,
    private readonly jobs: PeriodicJobs,
  ) {}

  onModuleInit(): void {
    const metrics = this.ports.metrics;
    if (!metrics) return;
    try {
      this.registerMetrics(metrics);
    } catch (err) {
      this.logger.warn({ err }, 'PDCA metrics not registered');
    }
  }

  private registerMetrics(metrics: NonNullable<PdcaPorts['metrics']>): void {
    metrics.registerGauge(
      WELL_KNOWN_METRICS.pdcaPhase,
      'PDCA phase of the cycle this process runs (1 for the current phase)',
      () => PDCA_PHASES.map((phase) => ({ labels: { phase }, value: phase === (this.current?.phase ?? 'IDLE') ? 1 : 0 })),
      { labelNames: ['phase'] },
    );
    metrics.registerCounter(
      WELL_KNOWN_METRICS.pdcaCycles,
      'PDCA cycles this process ran, by final status',
      () => Object.entries(this.totals).map(([status, value]) => ({ labels: { status }, value })),
      { labelNames: ['status'] },
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    // The kill -9 case: a row left running by a process whose lease has expired.
    await this.reap().catch((err: unknown) => this.logger.error({ err }, 'PDCA start-up recovery failed'));
    this.jobs.register(PDCA_SCHEDULE_INTERVAL, { intervalMs: this.options.intervalMs, run: () => this.tick() });
    if (this.options.intervalMs > 0) this.nextRunAt = Date.now() + this.options.intervalMs;
    // Also without triggers: an abandoned row is failed within a lease TTL of its lease expiring.
    this.jobs.register(PDCA_REAPER_INTERVAL, {
      intervalMs: this.options.leaseTtlMs,
      run: () => this.reap(),
      onError: (err) => this.logger.warn({ err }, 'PDCA recovery scan failed'),
    });
  }

  /** Before the flags and the database close: no new cycle, the running one stops (bounded wait). */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    // Not awaited: a tick's cycle is the running cycle, stopped (bounded) below.
    for (const name of [PDCA_SCHEDULE_INTERVAL, PDCA_REAPER_INTERVAL]) void this.jobs.stop(name);
    this.nextRunAt = null;
    const cycle = this.current;
    if (cycle) {
      cycle.controller.abort(new CycleInterrupted('shutdown', 'the engine is shutting down'));
      await settledWithin(cycle.done, this.options.shutdownWaitMs ?? 5_000);
    }
  }

  // ---------------------------------------------------------------- starting

  /**
   * Starts a cycle in the background and returns its id at once; PdcaBusyError (409) at once if
   * a cycle is running or being started here or in another process.
   */
  async trigger(type: TriggerType, reason: string): Promise<{ cycle_id: number; strategy_id: string }> {
    if (this.closing) throw new ServiceUnavailableError('The engine is shutting down');
    this.refuseIfRunningHere();
    if (this.starting) throw new PdcaBusyError('A PDCA cycle is being started', { scope: 'process' });
    this.starting = true;
    try {
      return await this.start(type, reason);
    } finally {
      this.starting = false;
    }
  }

  private refuseIfRunningHere(): void {
    const c = this.current;
    if (c) throw new PdcaBusyError(`PDCA cycle ${c.id} is running (phase ${c.phase})`, { scope: 'process', cycle_id: c.id, phase: c.phase });
  }

  private async start(type: TriggerType, reason: string): Promise<{ cycle_id: number; strategy_id: string }> {
    this.refuseIfRunningHere();
    const controller = new AbortController();
    const lease = await this.ports.leases.tryAcquire(PDCA_FLAG, this.options.leaseTtlMs, {
      onLost: () => controller.abort(new CycleInterrupted('lease_lost', 'the pdca_running lease was lost (not renewed in time)')),
    });
    if (!lease) {
      const holder = await this.ports.leases.get(PDCA_FLAG);
      throw new PdcaBusyError('A PDCA cycle is running in another engine process', {
        scope: 'cluster',
        holder: holder?.owner ?? null,
        lease_expires_at: iso(holder?.expires_at ?? null),
      });
    }
    const at = Date.now();
    let id: number;
    try {
      id = await this.store.begin({ trigger_type: type, trigger_reason: reason, owner: lease.owner, lease_token: lease.token, at });
    } catch (err) {
      await this.ports.leases.release(lease).catch((e: unknown) => this.logger.warn({ err: e }, 'could not release the pdca_running flag'));
      throw err;
    }
    const cycle: RunningCycle = {
      id,
      strategyId: `pdca-${id}`,
      trigger: type,
      reason,
      lease,
      controller,
      phase: 'IDLE',
      phases: [{ phase: 'IDLE', at }],
      startedAt: at,
      executionEndsAt: null,
      previousContent: null,
      deployment: null,
      done: Promise.resolve(),
    };
    this.current = cycle;
    this.logger.log({ cycle_id: id, trigger: type, reason }, `starting PDCA cycle #${id}`);
    this.emit('cycle.started', { cycle_id: id, trigger: type, reason, at });
    // Off the request's async context: the cycle outlives the request and holds none of its locks.
    cycle.done = detached(() => runInTask(`pdca-cycle:${id}`, () => this.run(cycle)));
    return { cycle_id: id, strategy_id: cycle.strategyId };
  }

  // ---------------------------------------------------------------- the cycle

  private async run(cycle: RunningCycle): Promise<void> {
    const signal = cycle.controller.signal;
    // A job only while a cycle runs (listed, disabled, in between): one cycle at a time, so one poll.
    this.jobs.register(PDCA_STOP_POLL_JOB, { intervalMs: this.options.stopPollMs ?? 250, run: () => this.pollStop(cycle) });
    let status: Exclude<CycleStatus, 'running'> = 'completed';
    let error: string | null = null;
    try {
      await this.enter(cycle, 'PLAN');
      const strategy = { ...(await this.planner.plan(await this.context(cycle.strategyId, DEFAULT_GOAL), signal)), id: cycle.strategyId };

      await this.enter(cycle, 'DO', { strategy });
      cycle.deployment = await this.deploy(cycle, strategy);
      await this.save(cycle, { deployment: cycle.deployment });
      await this.executionPeriod(cycle);

      await this.enter(cycle, 'CHECK');
      const outcome = evaluateOutcome(strategy, this.ports.metrics?.strategySummary(strategy.id) ?? null);

      await this.enter(cycle, 'ACT', { outcome });
      const act = await this.act(cycle, strategy, outcome);
      await this.save(cycle, {
        outcome: { ...outcome, act: { detail: act.detail, ...(act.adjustments ? { adjustments: act.adjustments } : {}) } },
        decision: act.decision,
        deployment: cycle.deployment ?? undefined,
      });
    } catch (err) {
      const reason: unknown = signal.aborted ? signal.reason : err;
      if (reason instanceof CycleInterrupted && reason.kind !== 'lease_lost') {
        status = 'stopped';
        error = reason.message;
      } else {
        status = 'failed';
        error = describe(reason);
        this.logger.error({ err: reason, cycle_id: cycle.id, phase: cycle.phase }, 'PDCA cycle failed');
      }
    } finally {
      void this.jobs.stop(PDCA_STOP_POLL_JOB);
      await this.finish(cycle, status, error);
    }
  }

  /** A phase transition: refused once the cycle is interrupted ("stops at its next step"), persisted, then emitted. */
  private async enter(cycle: RunningCycle, phase: PdcaPhase, extra: { strategy?: Strategy; outcome?: CheckOutcome } = {}): Promise<void> {
    cycle.controller.signal.throwIfAborted();
    const at = Date.now();
    const phases = [...cycle.phases, { phase, at }];
    const ok = await this.store.update(cycle.id, phase, { phases, ...extra }, at);
    if (!ok) throw new CycleInterrupted('lease_lost', 'the cycle was marked failed meanwhile (its lease was seen expired)');
    cycle.phases = phases;
    const from = cycle.phase;
    cycle.phase = phase;
    this.logger.log({ cycle_id: cycle.id, from, to: phase }, `PDCA phase transition: ${from} -> ${phase}`);
    this.emit('phase', { cycle_id: cycle.id, from, to: phase, at });
  }

  /** Persists what a phase produced without a transition. */
  private async save(cycle: RunningCycle, change: { deployment?: Deployment; outcome?: CycleRecord['outcome']; decision?: ActResult['decision'] }): Promise<void> {
    const ok = await this.store.update(cycle.id, cycle.phase, { phases: cycle.phases, ...change }, Date.now());
    if (!ok) throw new CycleInterrupted('lease_lost', 'the cycle was marked failed meanwhile (its lease was seen expired)');
  }

  private async context(strategyId: string, goal: string, first?: PlanningState): Promise<PlanningContext> {
    const states = this.ports.input.recentStates(PLANNING_STATES);
    const last = await this.store.latestFinished();
    return {
      strategy_id: strategyId,
      goal,
      states: first ? [first, ...states.filter((s) => first.session_id === null || s.session_id !== first.session_id)] : states,
      decision_stats: this.ports.input.decisionStats(),
      previous: last?.strategy ? { strategy: last.strategy, decision: last.decision } : null,
    };
  }

  /** DO: render the strategy's templates into PDCA_MACRO_FILE and deploy it through the macro module. */
  private async deploy(cycle: RunningCycle, strategy: Strategy): Promise<Deployment> {
    cycle.previousContent = this.ports.macros.current(PDCA_MACRO_FILE);
    if (strategy.macros.length === 0) return { file: PDCA_MACRO_FILE, status: 'skipped', macros: [], automacros: [], versions: {} };
    const rendered = renderStrategyFile(strategy, (t, p) => this.ports.macros.render(t, p));
    const result = await abortable(this.ports.macros.deploy(PDCA_MACRO_FILE, rendered.content), cycle.controller.signal);
    return { file: PDCA_MACRO_FILE, status: result.status, macros: rendered.macros, automacros: rendered.automacros, versions: result.versions };
  }

  /** The execution period: a timer, not a sleep; a stop or shutdown ends it at once. */
  private executionPeriod(cycle: RunningCycle): Promise<void> {
    const signal = cycle.controller.signal;
    signal.throwIfAborted();
    cycle.executionEndsAt = Date.now() + this.options.executionPeriodMs;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.options.executionPeriodMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
    }).finally(() => {
      cycle.executionEndsAt = null;
    });
  }

  /** ACT: keep, adjust (redeploy more cautious parameters) or roll back (restore what served before DO). */
  private async act(cycle: RunningCycle, strategy: Strategy, outcome: CheckOutcome): Promise<ActResult> {
    const result = decideAct(strategy, outcome);
    if (result.decision === 'adjust') {
      const { macros, adjustments } = adjustMacros(strategy.macros);
      const rendered = renderStrategyFile({ ...strategy, macros }, (t, p) => this.ports.macros.render(t, p));
      const deployed = await abortable(this.ports.macros.deploy(PDCA_MACRO_FILE, rendered.content), cycle.controller.signal);
      cycle.deployment = { ...cycle.deployment!, status: deployed.status, versions: deployed.versions, adjusted: true };
      return { ...result, adjustments };
    }
    if (result.decision === 'rollback') {
      const content = cycle.previousContent ?? emptyStrategyFile(`cycle ${cycle.id} rolled back; nothing served before it`);
      const deployed = await abortable(this.ports.macros.deploy(PDCA_MACRO_FILE, content), cycle.controller.signal);
      cycle.deployment = { ...cycle.deployment!, status: deployed.status, versions: deployed.versions, rolled_back: true };
    }
    return result;
  }

  /** Ends the row (IDLE), then releases the lease, then lets a new cycle start here. */
  private async finish(cycle: RunningCycle, status: Exclude<CycleStatus, 'running'>, error: string | null): Promise<void> {
    const at = Date.now();
    cycle.phases = [...cycle.phases, { phase: 'IDLE', at }];
    try {
      const recorded = await this.store.finish(cycle.id, status, cycle.phases, error, at);
      if (!recorded) this.logger.warn({ cycle_id: cycle.id, status }, 'PDCA cycle row had already been ended (marked failed by a recovery scan)');
    } catch (err) {
      this.logger.error({ err, cycle_id: cycle.id }, 'could not record the end of the PDCA cycle');
    }
    try {
      await this.ports.leases.release(cycle.lease);
    } catch (err) {
      this.logger.warn({ err, cycle_id: cycle.id }, 'could not release the pdca_running flag; it expires with its lease');
    }
    const from = cycle.phase;
    cycle.phase = 'IDLE';
    this.current = null;
    this.totals[status]++;
    this.logger.log({ cycle_id: cycle.id, status, error, duration_ms: at - cycle.startedAt }, `PDCA cycle #${cycle.id} ${status}`);
    this.emit('phase', { cycle_id: cycle.id, from, to: 'IDLE', at });
    this.emit('cycle.finished', { cycle_id: cycle.id, status, error, at });
  }

  private async pollStop(cycle: RunningCycle): Promise<void> {
    if (cycle.controller.signal.aborted) return;
    try {
      if (await this.store.stopRequested(cycle.id)) cycle.controller.abort(new CycleInterrupted('stop', 'stopped on request (from another process)'));
    } catch (err) {
      this.logger.debug({ err, cycle_id: cycle.id }, 'stop poll failed');
    }
  }

  private emit<K extends keyof PdcaEvents>(event: K, ...args: PdcaEvents[K]): void {
    try {
      (this.events as EventEmitter).emit(event, ...args);
    } catch (err) {
      this.logger.error({ err, event }, 'a PDCA event listener threw');
    }
  }

  // ---------------------------------------------------------------- stop, recovery, schedule

  /** Stops the running cycle (here, or in the process that runs it) at its next step; reports how it ended. */
  async stop(): Promise<StopResult> {
    const local = this.current;
    if (local) {
      local.controller.abort(new CycleInterrupted('stop', 'stopped on request'));
      await settledWithin(local.done, STOP_REPORT_WAIT_MS);
      return { cycle_id: local.id, stop_requested: true, status: await this.endedStatus(local.id) };
    }
    await this.reap();
    const live = await this.liveRemoteRow();
    if (!live) return { cycle_id: null, stop_requested: false, status: null };
    const requested = await this.store.requestStop(live.id, Date.now());
    // Over once its row is ended and its lease released: a trigger right after the answer is accepted.
    const over = async () => (await this.endedStatus(live.id)) !== 'stopping' && !holds(await this.ports.leases.get(PDCA_FLAG), live);
    const deadline = Date.now() + STOP_REPORT_WAIT_MS;
    while (requested && Date.now() < deadline && !(await over())) await new Promise((r) => setTimeout(r, 25));
    return { cycle_id: live.id, stop_requested: requested, status: (await over()) ? await this.endedStatus(live.id) : 'stopping' };
  }

  private async endedStatus(id: number): Promise<StopResult['status']> {
    const status = (await this.store.get(id))?.status;
    return status === undefined || status === 'running' ? 'stopping' : status;
  }

  /** The running row whose lease is live (another process's cycle), if any. */
  private async liveRemoteRow(): Promise<CycleRecord | undefined> {
    const rows = await this.store.running();
    if (rows.length === 0) return undefined;
    const flag = await this.ports.leases.get(PDCA_FLAG);
    return rows.find((r) => holds(flag, r));
  }

  /** Fails rows left `running` by processes whose lease is gone; returns their ids. */
  async reap(): Promise<number[]> {
    const rows = await this.store.running();
    if (rows.length === 0) return [];
    const flag = await this.ports.leases.get(PDCA_FLAG);
    const dead = rows.filter((r) => r.id !== this.current?.id && !holds(flag, r)).map((r) => r.id);
    const failed = await this.store.failAbandoned(dead, Date.now());
    if (failed.length > 0) this.logger.warn({ cycles: failed }, 'PDCA cycles left running by a dead process marked failed');
    return failed;
  }

  private async tick(): Promise<void> {
    this.nextRunAt = Date.now() + this.options.intervalMs;
    try {
      const { cycle_id } = await this.trigger('scheduled', 'interval');
      this.logger.log({ cycle_id }, 'scheduled PDCA cycle started');
    } catch (err) {
      if (err instanceof PdcaBusyError) {
        this.skippedTicks++;
        this.logger.warn({ details: err.details, skipped_ticks: this.skippedTicks }, 'scheduled PDCA tick skipped: a cycle is already running');
      } else {
        this.logger.error({ err }, 'scheduled PDCA tick failed');
      }
    }
  }

  // ---------------------------------------------------------------- queries

  async status(): Promise<PdcaStatusView> {
    const local = this.current;
    const row = local ? await this.store.get(local.id) : await this.liveRemoteRow();
    const running = local !== null || row !== undefined;
    const last = await this.store.latestFinished();
    return {
      cycle_running: running,
      current_phase: local ? local.phase : (row?.current_phase ?? 'IDLE'),
      cycle_count: await this.store.countFinished(),
      current_cycle: running && row ? this.view(row) : null,
      last_cycle: last ? this.view(last) : null,
      scheduler: {
        interval_ms: this.options.intervalMs,
        execution_period_ms: this.options.executionPeriodMs,
        lease_ttl_ms: this.options.leaseTtlMs,
        next_run_at: iso(this.nextRunAt),
        skipped_ticks: this.skippedTicks,
      },
      planner: this.planner.name,
      owner: this.ports.leases.ownerId,
    };
  }

  async cycle(id: number): Promise<CycleView | undefined> {
    const row = await this.store.get(id);
    return row ? this.view(row) : undefined;
  }

  async history(options: { limit: number; before?: number; status?: CycleStatus }): Promise<{ cycles: CycleView[]; next_before: number | null }> {
    const rows = await this.store.list({ ...options, limit: options.limit + 1 });
    const page = rows.slice(0, options.limit);
    return { cycles: page.map((r) => this.view(r)), next_before: rows.length > options.limit ? page[page.length - 1].id : null };
  }

  /** Whether this process runs a cycle now (for tests and health). */
  get runningHere(): boolean {
    return this.current !== null;
  }

  /**
   * `POST /strategy/plan`: a plan from the planner, synchronously (the LLM, when configured, is
   * bounded by the pool's acquire and request timeouts and falls back to the built-in planner).
   */
  async planNow(input: { state?: PartialGameState; character?: string; goal?: string }): Promise<Strategy> {
    let first: PlanningState | undefined;
    if (input.state && Object.keys(input.state).length > 0) {
      first = { session_id: null, character: input.state.character?.name ?? input.character ?? null, updated_at: Date.now(), state: input.state };
    } else if (input.character) {
      first = this.ports.input.stateOfCharacter(input.character);
    }
    const context = await this.context(`plan-${randomUUID().slice(0, 8)}`, input.goal ?? DEFAULT_GOAL, first);
    return this.planner.plan(context, new AbortController().signal);
  }

  private view(row: CycleRecord): CycleView {
    const local = this.current?.id === row.id ? this.current : null;
    return {
      cycle_id: row.id,
      status: row.status,
      trigger: { type: row.trigger_type, reason: row.trigger_reason },
      current_phase: local ? local.phase : row.current_phase,
      phases: row.phases.map((p) => ({ phase: p.phase, at: new Date(p.at).toISOString() })),
      strategy: row.strategy,
      deployment: row.deployment,
      outcome: row.outcome,
      decision: row.decision,
      error: row.error,
      owner: row.owner,
      local: row.owner === this.ports.leases.ownerId,
      stop_requested: row.stop_requested_at !== null || (local?.controller.signal.aborted ?? false),
      execution_ends_at: iso(local?.executionEndsAt ?? null),
      started_at: new Date(row.started_at).toISOString(),
      finished_at: iso(row.finished_at),
      duration_ms: (row.finished_at ?? Date.now()) - row.started_at,
    };
  }
}
