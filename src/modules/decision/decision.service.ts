import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { METRICS, type MetricSeriesHandle, type MetricsPort, RECORDED_SERIES } from '../../common/ports/metrics-sources.port';
import { ML_PREDICTOR, type MlPredictor } from './ml-predictor.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { TablesService } from '../progression';
import { SessionService } from '../session';
import { type GameState, hpRatio, type StateSnapshot, StateService } from '../state';
import { type Action, ActionPriority, ActionType, type DecisionTier, DECISION_TIERS, fromPluginAction } from './action';
import { ActionQueue, type ActionQueueStats, type QueuedAction } from './action-queue';
import { DecisionLogWriter } from './decision-log.writer';
import { PlannerService, type PlannerTask } from './planner.service';
import { RuleSetService } from './rule-set.service';
import { BUILT_IN_HEALING, fleeFrom, findHealingItem, type HealingIds, isDying, reflexTier, type TierResult } from './tiers/reflex.tier';
import { ruleTier } from './tiers/rules';

export interface Decision {
  decision_tier: DecisionTier;
  action: Action & { source?: string };
  processing_time_ms: number;
  /** Microseconds spent in each tier that ran. */
  tier_timings_us: Partial<Record<DecisionTier, number>>;
  state_version: number;
  /** Set when the slow tier is working: answer 202 with the task and a fallback. */
  pending?: PlannerTask;
}

/** What a session was last told to do (the operator console's bots table). */
export interface LastDecision {
  decision_tier: DecisionTier;
  action_type: string;
  reason: string;
  processing_time_ms: number;
  /** Epoch ms. */
  at: number;
}

export interface DecisionStats {
  total_decisions: number;
  reflex_decisions: number;
  rule_decisions: number;
  ml_decisions: number;
  llm_decisions: number;
  pending_plans: number;
}

const OFFENSIVE = new Set<ActionType>([ActionType.ATTACK, ActionType.USE_SKILL]);

/** Called when a queued action from outside the tiers (e.g. `macro:<execution id>`) is handed to the bot. */
export type DeliveredListener = (sessionId: string, entry: QueuedAction) => void;
/** Called for every action_feedback the plugin sends. */
export type FeedbackListener = (event: { sessionId: string | undefined; action: string; success: boolean; reason?: string }) => void;

/**
 * The decision path of every tick: reflex → rules → ML → strategic planner, first answer wins,
 * each tier timed. The chosen action goes through the session's action queue (priority,
 * deadline, conflicts) and into decision_log.
 */
@Injectable()
export class DecisionService {
  private readonly logger = new Logger(DecisionService.name);
  private readonly queues = new Map<string, ActionQueue>();
  private readonly counts: Record<DecisionTier, number> = { reflex: 0, rule: 0, ml: 0, llm: 0 };
  private readonly feedback = new Map<string, { success: number; failure: number }>();
  private readonly last = new Map<string, LastDecision>();
  private readonly deliveredListeners: DeliveredListener[] = [];
  private readonly feedbackListeners: FeedbackListener[] = [];
  /** Per-tier processing-time series, bound once (the metrics module is optional). */
  private tierSeries: Partial<Record<DecisionTier, MetricSeriesHandle>> = {};

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly rules: RuleSetService,
    private readonly planner: PlannerService,
    private readonly log: DecisionLogWriter,
    private readonly state: StateService,
    sessions: SessionService,
    // Provided by the (global) ML module; the ML tier is skipped without it.
    @Optional() @Inject(ML_PREDICTOR) private readonly ml: MlPredictor | null = null,
    @Optional() @Inject(METRICS) metrics: MetricsPort | null = null,
    @Optional() @Inject(TablesService) private readonly tables: TablesService | null = null,
  ) {
    if (metrics) {
      for (const t of DECISION_TIERS) this.tierSeries[t] = metrics.series(RECORDED_SERIES.decisionProcessingMs, { tier: t });
    }
    sessions.onSessionExpired((id) => {
      this.queues.delete(id);
      this.last.delete(id);
      this.planner.forgetSession(id);
    });
  }

  queue(sessionId: string): ActionQueue {
    let q = this.queues.get(sessionId);
    if (!q) {
      q = new ActionQueue(this.config.actionQueueSize);
      this.queues.set(sessionId, q);
    }
    return q;
  }

  /** Adds an action from outside the decision path (macro executions) to a session's queue. */
  enqueue(sessionId: string, action: Action, priority: ActionPriority, source: string, ttlMs = this.config.actionTtlMs) {
    return this.queue(sessionId).enqueue(action, priority, ttlMs, source);
  }

  onActionDelivered(listener: DeliveredListener): void {
    this.deliveredListeners.push(listener);
  }

  onFeedback(listener: FeedbackListener): void {
    this.feedbackListeners.push(listener);
  }

  async decide(snapshot: StateSnapshot): Promise<Decision> {
    const started = performance.now();
    const state = snapshot.state;
    const timings: Partial<Record<DecisionTier, number>> = {};
    const healing = this.healing();
    let tier: DecisionTier | undefined;
    let result: TierResult | undefined;
    let pending: PlannerTask | undefined;

    // Each tier that runs is timed; the first to answer wins.
    if ((result = timed(timings, 'reflex', () => reflexTier(state, healing)))) tier = 'reflex';
    else if ((result = timed(timings, 'rule', () => ruleTier(this.rules.rules.rules, state)))) tier = 'rule';
    else if (this.ml?.available && (result = await timed(timings, 'ml', () => this.mlTier(state, healing)))) tier = 'ml';
    else {
      const slow = timed(timings, 'llm', () => this.slowTier(snapshot.sessionId, state));
      if ('action' in slow) {
        result = slow.action;
        tier = 'llm';
      } else pending = slow.pending;
    }

    const queue = this.queue(snapshot.sessionId);
    if (result && tier) {
      result = this.safetyNet(state, result);
      queue.enqueue(result.action, result.priority, this.config.actionTtlMs, tier);
    }
    // A macro's action or an earlier, more urgent one may come before this tick's decision.
    const next: QueuedAction | undefined = queue.dequeue();
    let action: Decision['action'];
    let decisionTier: DecisionTier;
    if (next) {
      action = isTier(next.source) ? next.action : { ...next.action, source: next.source };
      decisionTier = isTier(next.source) ? next.source : (tier ?? 'rule');
      pending = undefined;
      if (!isTier(next.source)) this.notify(() => this.deliveredListeners.forEach((l) => l(snapshot.sessionId, next)));
    } else if (result && tier) {
      action = result.action;
      decisionTier = tier;
    } else {
      action = pending!.fallback_action;
      decisionTier = 'llm';
    }
    // A queued action the safety net has not seen (a macro's) is checked too.
    action = this.safetyNet(state, { action, priority: ActionPriority.NORMAL }).action;

    const processing = Math.round((performance.now() - started) * 1000) / 1000;
    this.counts[decisionTier]++;
    this.tierSeries[decisionTier]?.record(processing);
    const at = Date.now();
    this.last.set(snapshot.sessionId, { decision_tier: decisionTier, action_type: action.type, reason: action.reason, processing_time_ms: processing, at });
    this.log.push({
      session_id: snapshot.sessionId,
      decision_tier: decisionTier,
      action_type: action.type,
      reason: action.reason,
      state_version: snapshot.version,
      processing_time_ms: processing,
      created_at: at,
    });
    return { decision_tier: decisionTier, action, processing_time_ms: processing, tier_timings_us: timings, state_version: snapshot.version, pending };
  }

  stats(): DecisionStats {
    const total = DECISION_TIERS.reduce((s, t) => s + this.counts[t], 0);
    return {
      total_decisions: total,
      reflex_decisions: this.counts.reflex,
      rule_decisions: this.counts.rule,
      ml_decisions: this.counts.ml,
      llm_decisions: this.counts.llm,
      pending_plans: this.planner.pendingCount,
    };
  }

  /** The last decision given to a session, while the session is active. */
  lastDecision(sessionId: string): LastDecision | undefined {
    return this.last.get(sessionId);
  }

  /** Actions waiting in a session's queue (0 when it has none). */
  queueDepth(sessionId: string): number {
    return this.queues.get(sessionId)?.size ?? 0;
  }

  /** Outcome of an action the bot executed: counted per action type, fed to training. */
  recordFeedback(action: string, success: boolean, sessionId: string | undefined, reason: string | undefined): void {
    const key = action.slice(0, 64);
    let c = this.feedback.get(key);
    if (!c) {
      if (this.feedback.size >= 256) return; // action names come from clients: bound the map
      c = { success: 0, failure: 0 };
      this.feedback.set(key, c);
    }
    if (success) c.success++;
    else c.failure++;
    const type = fromPluginAction(action);
    const snapshot = sessionId ? this.state.current(sessionId) : undefined;
    if (type && snapshot && sessionId && this.ml?.recordOutcome) {
      this.ml.recordOutcome({ state: snapshot.state, action_type: type, success, session_id: sessionId });
    }
    if (!success) this.logger.debug({ action, session_id: sessionId, reason }, 'action failed');
    this.notify(() => this.feedbackListeners.forEach((l) => l({ sessionId, action, success, reason })));
  }

  feedbackStats(): Record<string, { success: number; failure: number }> {
    return Object.fromEntries([...this.feedback].map(([k, v]) => [k, { ...v }]));
  }

  queueStats(): Record<string, ActionQueueStats> {
    const out = Object.create(null) as Record<string, ActionQueueStats>;
    for (const [id, q] of this.queues) out[id] = { ...q.stats };
    return out;
  }

  /** A listener's failure is logged, never allowed to fail the tick that triggered it. */
  private notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err }, 'decision listener failed');
    }
  }

  /** The healing table's items once loaded, else the built-in core of it. */
  private healing(): HealingIds {
    const table = this.tables?.current.healing;
    return table && table.size > 0 ? table : BUILT_IN_HEALING;
  }

  /** Whatever a tier says, a dying character (HP at or below 15%) is never sent to fight. */
  private safetyNet(state: Readonly<GameState>, result: TierResult): TierResult {
    if (!isDying(state) || !OFFENSIVE.has(result.action.type)) return result;
    const attackers = (state.monsters ?? []).filter((m) => m.is_attacking_me);
    return { action: fleeFrom(state, attackers, `HP ${Math.round(hpRatio(state) * 100)}%: refusing to attack, fleeing`), priority: ActionPriority.CRITICAL };
  }

  /** The strategic planner: a plan that has arrived, else the task working on one (a 202 with a fallback). */
  private slowTier(sessionId: string, state: Readonly<GameState>): { action: TierResult } | { pending: PlannerTask } {
    const ready = this.planner.takeReady(sessionId);
    if (ready?.action) return { action: { action: ready.action, priority: ActionPriority.LOW } };
    return { pending: this.planner.startOrGet(sessionId, state) };
  }

  private async mlTier(state: Readonly<GameState>, healing: HealingIds): Promise<TierResult | undefined> {
    try {
      const p = await this.ml!.predictState(state);
      if (p.confidence < this.config.mlConfidence) return undefined;
      const action = materialize(p.action_type as ActionType, state, healing);
      if (!action) return undefined;
      action.reason = `model v${p.model_version}: ${p.action_type} (${Math.round(p.confidence * 100)}%)`;
      return { action, priority: ActionPriority.NORMAL };
    } catch (err) {
      // The ML tier is an optimization: any failure falls through to the next tier.
      this.logger.warn({ err }, 'ML tier failed; falling through');
      return undefined;
    }
  }
}

/** Turns a model's action type into a concrete action for this state, if it can be done here. */
function materialize(type: ActionType, state: Readonly<GameState>, healing: HealingIds): Action | undefined {
  switch (type) {
    case ActionType.ATTACK: {
      const target = [...(state.monsters ?? [])].sort((a, b) => (a.distance ?? Infinity) - (b.distance ?? Infinity))[0];
      return target ? { type, params: { target_id: target.id, target_name: target.name }, reason: '' } : undefined;
    }
    case ActionType.USE_ITEM: {
      const item = findHealingItem(state, healing);
      return item ? { type, params: { item_id: item.id, item_name: item.name }, reason: '' } : undefined;
    }
    case ActionType.SIT:
    case ActionType.STAND:
    case ActionType.NO_ACTION:
      return { type, params: {}, reason: '' };
    case ActionType.TELEPORT:
      return { type, params: { method: 'any' }, reason: '' };
    default:
      // Types that need parameters the model does not give (where to move, what to store…).
      return undefined;
  }
}

/** Runs one tier and records its time in microseconds (after it settles, for an async tier). */
function timed<T>(timings: Partial<Record<DecisionTier, number>>, tier: DecisionTier, run: () => T): T {
  const t0 = performance.now();
  const out = run();
  if (out instanceof Promise) {
    return out.finally(() => {
      timings[tier] = us(performance.now() - t0);
    }) as T;
  }
  timings[tier] = us(performance.now() - t0);
  return out;
}

function us(ms: number): number {
  return Math.round(ms * 1000);
}

function isTier(s: string): s is DecisionTier {
  return (DECISION_TIERS as readonly string[]).includes(s);
}
