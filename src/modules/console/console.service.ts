import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { LOCK_CATALOG, LockManager, SessionSerializer, type ContentionRow, type DeadlockReport, type LongHoldReport } from '../../common/concurrency';
import { RequestStats } from '../../common/http/request-stats';
import { METRICS, type MetricsPort, RECORDED_SERIES } from '../../common/ports/metrics-sources.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { SERVER_NAME, SERVER_VERSION } from '../../config/version';
import type { DecisionTier } from '../decision';
import { DecisionService } from '../decision';
import { MacroService, type RejectionView } from '../macro';
import { MlService } from '../ml';
import { PdcaService, type CycleView } from '../pdca';
import { SessionService } from '../session';
import { StateService } from '../state';
import { ConsoleStreamHub, type ConsoleStream } from './console-streams';
import { DecisionHistory, type DecisionSample } from './decision-history';
import { PeriodicJobs } from '../../common/scheduling';

/** How far back the decision charts go. */
const HISTORY_MS = 10 * 60_000;
/** Rows of the bots table, held and waiting locks, PDCA history and macros sent to a console. */
const MAX_BOTS = 500;
const MAX_LOCK_ROWS = 50;
const PDCA_HISTORY = 10;
const MAX_MACROS = 300;

export interface BotRow {
  session_id: string;
  character: string | null;
  client: string;
  map: string | null;
  hp_pct: number | null;
  /** Epoch ms of the last game state (or, before the first one, of the last request). */
  last_tick_at: number;
  state_version: number | null;
  tier: DecisionTier | null;
  action: string | null;
  reason: string | null;
  decided_at: number | null;
  decision_ms: number | null;
  /** Actions waiting in the session's action queue. */
  queue_depth: number;
  /** Requests of the session waiting for its turn. */
  requests_waiting: number;
}

export interface LockRow extends Omit<ContentionRow, 'waitMs' | 'holdMs'> {
  wait_p99_ms: number;
  hold_p99_ms: number;
  wait_max_ms: number;
  hold_max_ms: number;
  held: number;
  waiting: number;
  /** False for a level of the hierarchy nothing has registered yet. */
  in_use: boolean;
}

type CycleRow = Pick<CycleView, 'cycle_id' | 'status' | 'trigger' | 'current_phase' | 'phases' | 'decision' | 'error' | 'started_at' | 'finished_at' | 'duration_ms'> & {
  strategy: { id: string; plan_type: string; goal: string; planner: string } | null;
  outcome: { verdict: string; success_rate: number | null; samples: number } | null;
};

export interface ConsoleSummary {
  server: { name: string; version: string; time: number; uptime_seconds: number; interval_ms: number; token_required: boolean };
  bots: { total: number; rows: BotRow[]; truncated: boolean };
  decisions: {
    totals: Record<DecisionTier, number> & { total: number };
    pending_plans: number;
    /** Processing time (ms) over the metrics window, all tiers. */
    latency: { p50: number | null; p99: number | null; window_seconds: number | null };
    last_sample: DecisionSample | null;
  };
  locks: {
    order_mode: string;
    contention: LockRow[];
    held: Array<{ lock: string; mode: string; task: string; held_ms: number }>;
    waiting: Array<{ lock: string; mode: string; task: string; waiting_ms: number; position: number }>;
    held_total: number;
    waiting_total: number;
    deadlocks: DeadlockReport[];
    long_holds: LongHoldReport[];
    order_violations: number;
    session_queues: { in_flight: number; max_in_flight: number; waiting_for_slot: number; queued: number; rejected_queue_full: number };
  };
  pdca: Section<{
    cycle_running: boolean;
    current_phase: string;
    cycle_count: number;
    current_cycle: CycleRow | null;
    next_run_at: string | null;
    planner: string;
    history: CycleRow[];
  }>;
  models: Section<{
    status: string;
    available: boolean;
    detail: string | null;
    active: { version: number; origin: string; promoted_at: string; accuracy: number | null; inference_count: number; failed_inferences: number; active_inferences: number } | null;
    staging: { staging_id: number; origin: string; staged_at: string; file: string; accuracy: number | null } | null;
    total_inferences: number;
    promotions: number;
    promotion_in_progress: boolean;
    training_in_progress: boolean;
  }>;
  macros: Section<{
    available: boolean;
    watching: boolean;
    macros: Array<{ name: string; kind: string; version: number; file: string; line: number; last_reload: string; status: string; active_executions: number; errors: number }>;
    truncated: boolean;
    files_rejected: number;
    last_failed_reload: RejectionView | null;
  }>;
  streams: { open: number; max: number };
}

/** A part of the summary that failed to build says so instead of failing the whole page. */
export type Section<T> = T | { error: string };

/** The periodic job that samples the console's chart and sends each open stream a summary. */
export const CONSOLE_STREAM_JOB = 'console.stream';

/**
 * The operator console's data: one summary of bots, decisions, locks, PDCA, models and macros
 * (built once per interval and shared by every open console), and the decision charts' history,
 * sampled whether or not a console is open so a console opened later shows the last minutes.
 */
@Injectable()
export class ConsoleService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ConsoleService.name);
  readonly hub: ConsoleStreamHub;
  private readonly history: DecisionHistory;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly state: StateService,
    private readonly decisions: DecisionService,
    private readonly locks: LockManager,
    private readonly serializer: SessionSerializer,
    private readonly pdca: PdcaService,
    private readonly ml: MlService,
    private readonly macros: MacroService,
    private readonly requests: RequestStats,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort | null = null,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    this.hub = new ConsoleStreamHub(config.consoleMaxStreams);
    this.history = new DecisionHistory(Math.max(2, Math.ceil(HISTORY_MS / config.consoleIntervalMs)));
  }

  onApplicationBootstrap(): void {
    this.history.baseline(Date.now(), this.tierCounts());
    this.jobs.register(CONSOLE_STREAM_JOB, { intervalMs: this.config.consoleIntervalMs, run: () => this.tick() });
  }

  onModuleDestroy(): void {
    // A tick in flight (its PDCA read) ends on its own; its broadcast finds the streams closed.
    void this.jobs.stop(CONSOLE_STREAM_JOB);
    this.hub.closeAll();
  }

  /** Ends every open console stream (shutdown calls this before it waits for requests in flight). */
  closeStreams(): void {
    this.hub.closeAll();
  }

  /** One interval: a chart point, then one summary for every open console. */
  async tick(now = Date.now()): Promise<void> {
    const sample = this.history.sample(now, this.tierCounts(), this.latency());
    if (this.hub.size === 0) return;
    try {
      const summary = await this.summary(now);
      this.hub.broadcast('summary', JSON.stringify({ summary, sample: sample ?? null }));
    } catch (err) {
      this.logger.error({ err }, 'console summary failed');
    }
  }

  /** A new stream: the history and a summary at once, then a summary every interval. */
  async openStream(): Promise<ConsoleStream> {
    const stream = this.hub.open();
    try {
      const summary = await this.summary();
      this.hub.send(stream, 'hello', JSON.stringify({ summary, history: this.history.points() }));
    } catch (err) {
      stream.end(); // the request fails: its slot must not stay taken
      throw err;
    }
    return stream;
  }

  historyPoints(): DecisionSample[] {
    return this.history.points();
  }

  async summary(now = Date.now()): Promise<ConsoleSummary> {
    return {
      server: {
        name: SERVER_NAME,
        version: SERVER_VERSION,
        time: now,
        uptime_seconds: this.requests.uptimeSeconds,
        interval_ms: this.config.consoleIntervalMs,
        token_required: this.config.token !== undefined,
      },
      bots: this.bots(),
      decisions: this.decisionView(),
      locks: this.lockView(),
      pdca: await section(() => this.pdcaView()),
      models: await section(() => this.modelView()),
      macros: await section(() => this.macroView()),
      streams: { open: this.hub.size, max: this.hub.maxStreams },
    };
  }

  /** One session's row (404 for an unknown or expired session). */
  bot(sessionId: string): BotRow {
    const view = this.sessions.get(sessionId);
    return this.botRow(view.session_id, view.character_name, view.client, Date.parse(view.last_seen_at), this.serializer.stats().queueDepth);
  }

  private bots(): ConsoleSummary['bots'] {
    const views = this.sessions.list();
    const queueDepth = this.serializer.stats().queueDepth;
    const rows = views.slice(0, MAX_BOTS).map((v) => this.botRow(v.session_id, v.character_name, v.client, Date.parse(v.last_seen_at), queueDepth));
    return { total: views.length, rows, truncated: views.length > MAX_BOTS };
  }

  private botRow(id: string, characterName: string | null, client: string, lastSeen: number, queueDepth: Record<string, number>): BotRow {
    const snap = this.state.current(id);
    const c = snap?.state.character;
    const last = this.decisions.lastDecision(id);
    return {
      session_id: id,
      character: c?.name ?? characterName,
      client,
      map: c?.position?.map ?? null,
      hp_pct: c && c.max_hp > 0 ? Math.round((c.hp / c.max_hp) * 1000) / 10 : null,
      last_tick_at: snap?.updatedAt ?? lastSeen,
      state_version: snap?.version ?? null,
      tier: last?.decision_tier ?? null,
      action: last?.action_type ?? null,
      reason: last?.reason ?? null,
      decided_at: last?.at ?? null,
      decision_ms: last?.processing_time_ms ?? null,
      queue_depth: this.decisions.queueDepth(id),
      requests_waiting: queueDepth[id] ?? 0,
    };
  }

  private tierCounts(): Record<DecisionTier, number> {
    const s = this.decisions.stats();
    return { reflex: s.reflex_decisions, rule: s.rule_decisions, ml: s.ml_decisions, llm: s.llm_decisions };
  }

  private latency(): { p50: number | null; p99: number | null; window_seconds: number | null } {
    if (!this.metrics) return { p50: null, p99: null, window_seconds: null };
    const all = this.metrics.aggregate(RECORDED_SERIES.decisionProcessingMs);
    return { p50: all.p50, p99: all.p99, window_seconds: all.window_seconds };
  }

  private decisionView(): ConsoleSummary['decisions'] {
    const s = this.decisions.stats();
    const points = this.history.points();
    return {
      totals: { reflex: s.reflex_decisions, rule: s.rule_decisions, ml: s.ml_decisions, llm: s.llm_decisions, total: s.total_decisions },
      pending_plans: s.pending_plans,
      latency: this.latency(),
      last_sample: points.length > 0 ? points[points.length - 1] : null,
    };
  }

  private lockView(): ConsoleSummary['locks'] {
    const report = this.locks.getReport();
    const heldBy = countBy(report.held.map((h) => h.lock));
    const waitingBy = countBy(report.waiting.map((w) => w.lock));
    const rows = new Map<string, LockRow>();
    for (const r of report.contention) {
      rows.set(r.lock, {
        lock: r.lock,
        kind: r.kind,
        order: r.order,
        acquisitions: r.acquisitions,
        contentions: r.contentions,
        contentionRate: r.contentionRate,
        timeouts: r.timeouts,
        aborts: r.aborts,
        deadlocks: r.deadlocks,
        wait_p99_ms: r.waitMs.p99Ms,
        hold_p99_ms: r.holdMs.p99Ms,
        wait_max_ms: r.waitMs.maxMs,
        hold_max_ms: r.holdMs.maxMs,
        held: heldBy.get(r.lock) ?? 0,
        waiting: waitingBy.get(r.lock) ?? 0,
        in_use: true,
      });
    }
    // Every level of the hierarchy has a row, also before anything took it.
    for (const [name, entry] of Object.entries(LOCK_CATALOG)) {
      if (rows.has(name)) continue;
      rows.set(name, {
        lock: name,
        kind: entry.kind,
        order: entry.order,
        acquisitions: 0,
        contentions: 0,
        contentionRate: 0,
        timeouts: 0,
        aborts: 0,
        deadlocks: 0,
        wait_p99_ms: 0,
        hold_p99_ms: 0,
        wait_max_ms: 0,
        hold_max_ms: 0,
        held: 0,
        waiting: 0,
        in_use: false,
      });
    }
    const q = this.serializer.stats();
    return {
      order_mode: report.orderMode,
      contention: [...rows.values()].sort((a, b) => a.order - b.order || a.lock.localeCompare(b.lock)),
      held: [...report.held]
        .sort((a, b) => b.heldMs - a.heldMs)
        .slice(0, MAX_LOCK_ROWS)
        .map((h) => ({ lock: h.lock, mode: h.mode, task: h.task, held_ms: h.heldMs })),
      waiting: [...report.waiting]
        .sort((a, b) => b.waitingMs - a.waitingMs)
        .slice(0, MAX_LOCK_ROWS)
        .map((w) => ({ lock: w.lock, mode: w.mode, task: w.task, waiting_ms: w.waitingMs, position: w.position })),
      held_total: report.held.length,
      waiting_total: report.waiting.length,
      deadlocks: report.deadlocks,
      long_holds: report.longHolds,
      order_violations: report.orderViolations.total,
      session_queues: {
        in_flight: q.inFlight,
        max_in_flight: q.maxInFlight,
        waiting_for_slot: q.waitingForSlot,
        queued: q.queued,
        rejected_queue_full: q.rejectedQueueFull,
      },
    };
  }

  private async pdcaView() {
    const s = await this.pdca.status();
    return {
      cycle_running: s.cycle_running,
      current_phase: s.current_phase,
      cycle_count: s.cycle_count,
      current_cycle: s.current_cycle && cycleRow(s.current_cycle),
      next_run_at: s.scheduler.next_run_at,
      planner: s.planner,
      history: (await this.pdca.history({ limit: PDCA_HISTORY })).cycles.map(cycleRow),
    };
  }

  private modelView() {
    const m = this.ml.status();
    const report = m.training.last_report;
    return {
      status: m.status,
      available: m.available,
      detail: m.detail,
      active: m.active && {
        version: m.active.version,
        origin: m.active.origin,
        promoted_at: m.active.promoted_at,
        accuracy: accuracyOf(m.active.metrics, m.active.metadata),
        inference_count: m.active.inference_count,
        failed_inferences: m.active.failed_inferences,
        active_inferences: m.active.active_inferences,
      },
      staging: m.staging && {
        staging_id: m.staging.staging_id,
        origin: m.staging.origin,
        staged_at: m.staging.staged_at,
        file: m.staging.path.split(/[\\/]/).pop() ?? m.staging.path,
        accuracy: report && report.staging.staging_id === m.staging.staging_id ? report.candidate_validation_accuracy : null,
      },
      total_inferences: m.total_inferences,
      promotions: m.promotions,
      promotion_in_progress: m.promotion_in_progress,
      training_in_progress: m.training.in_progress,
    };
  }

  private macroView() {
    const list = this.macros.list();
    const all = [...list.macros, ...list.automacros];
    const rejections: RejectionView[] = [];
    for (const f of list.files) if (f.rejection) rejections.push(f.rejection);
    for (const m of all) if (m.last_rejected) rejections.push(m.last_rejected);
    for (const r of list.rejected) rejections.push(r.rejection);
    const last = rejections.reduce<RejectionView | null>((a, b) => (a === null || b.at > a.at ? b : a), null);
    return {
      available: list.available,
      watching: list.watching,
      macros: all.slice(0, MAX_MACROS).map((m) => ({
        name: m.name,
        kind: m.kind,
        version: m.version,
        file: m.file,
        line: m.line,
        last_reload: m.last_reload,
        status: m.status,
        active_executions: m.active_executions,
        errors: m.errors.length,
      })),
      truncated: all.length > MAX_MACROS,
      files_rejected: list.files.filter((f) => f.rejection !== null).length,
      last_failed_reload: last,
    };
  }
}

async function section<T>(build: () => T | Promise<T>): Promise<Section<T>> {
  try {
    return await build();
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

function countBy(keys: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of keys) out.set(k, (out.get(k) ?? 0) + 1);
  return out;
}

function cycleRow(c: CycleView): CycleRow {
  return {
    cycle_id: c.cycle_id,
    status: c.status,
    trigger: c.trigger,
    current_phase: c.current_phase,
    phases: c.phases,
    decision: c.decision,
    error: c.error,
    started_at: c.started_at,
    finished_at: c.finished_at,
    duration_ms: c.duration_ms,
    strategy: c.strategy && { id: c.strategy.id, plan_type: c.strategy.plan_type, goal: c.strategy.goal, planner: c.strategy.planner },
    outcome: c.outcome && { verdict: c.outcome.verdict, success_rate: c.outcome.success_rate, samples: c.outcome.samples },
  };
}

/** Validation accuracy recorded with the model: its training metrics, else its ONNX metadata. */
function accuracyOf(metrics: Record<string, unknown> | null, metadata: Record<string, string>): number | null {
  const fromMetrics = metrics?.validation_accuracy;
  if (typeof fromMetrics === 'number' && Number.isFinite(fromMetrics)) return fromMetrics;
  const fromMetadata = Number(metadata.validation_accuracy);
  return metadata.validation_accuracy !== undefined && Number.isFinite(fromMetadata) ? fromMetadata : null;
}
