import type { PartialGameState } from '../state';
import type { MacroTemplateId } from '../macro';

/** Phases of docs/architecture.md §8.1. A cycle goes PLAN → DO (deploy, then the execution period) → CHECK → ACT → IDLE. */
export const PdcaPhase = {
  IDLE: 'IDLE',
  PLAN: 'PLAN',
  DO: 'DO',
  CHECK: 'CHECK',
  ACT: 'ACT',
} as const;
export type PdcaPhase = (typeof PdcaPhase)[keyof typeof PdcaPhase];
export const PDCA_PHASES: readonly PdcaPhase[] = ['IDLE', 'PLAN', 'DO', 'CHECK', 'ACT'];

export type CycleStatus = 'running' | 'completed' | 'failed' | 'stopped';
export type TriggerType = 'manual' | 'scheduled';
export type ActDecision = 'keep' | 'adjust' | 'rollback';

export interface PhaseEntry {
  phase: PdcaPhase;
  /** Epoch ms of the transition. */
  at: number;
}

/** What a strategy is about; the plugin's `POST /strategy/plan` reads it as `plan_type`. */
export type PlanType = 'combat' | 'farming' | 'support' | 'observe';
export const PLAN_TYPES: readonly PlanType[] = ['combat', 'farming', 'support', 'observe'];

/** One macro template to render with parameters (checked by rendering before anything is deployed). */
export interface MacroPlan {
  template: MacroTemplateId;
  params: Record<string, unknown>;
}

export interface StrategyTargets {
  /** CHECK: the share of successful decisions logged with this strategy's id needed to keep it. */
  min_success_rate: number;
  /** CHECK: fewer logged outcomes than this is not enough to judge (the strategy is kept). */
  min_samples: number;
}

export interface Strategy {
  /** Label `strategy_id` of the metrics the bots log while it runs (`pdca-<cycle id>` for cycles). */
  id: string;
  plan_type: PlanType;
  goal: string;
  rationale: string;
  /** Which planner produced it: `built-in`, or `llm:<model>`. */
  planner: string;
  /** Set when the LLM planner failed and the built-in planner answered instead. */
  fallback_reason?: string;
  /** The character whose state it was planned from. */
  character: string | null;
  macros: MacroPlan[];
  targets: StrategyTargets;
  created_at: string;
}

/** One bot's latest state as the planner sees it (fields optional: compat callers send partial states). */
export interface PlanningState {
  session_id: string | null;
  character: string | null;
  updated_at: number;
  state: Readonly<PartialGameState>;
}

export interface DecisionStatsView {
  total_decisions: number;
  reflex_decisions: number;
  rule_decisions: number;
  ml_decisions: number;
  llm_decisions: number;
}

export interface PlanningContext {
  strategy_id: string;
  goal: string;
  /** Freshest first. */
  states: readonly PlanningState[];
  decision_stats: DecisionStatsView | null;
  /** The last finished cycle's strategy and verdict, so a rolled-back plan is not simply repeated. */
  previous: { strategy: Strategy; decision: ActDecision | null } | null;
}

/** A pluggable planner for the PLAN phase (and `POST /strategy/plan`). */
export interface PdcaPlanner {
  readonly name: string;
  plan(context: PlanningContext, signal: AbortSignal): Promise<Strategy>;
}

export interface CheckOutcome {
  verdict: 'success' | 'failure' | 'insufficient_data';
  /** Mean of the strategy's `decision.success` values (0/1) over the execution period. */
  success_rate: number | null;
  samples: number;
  avg_processing_ms: number | null;
  /** Per metric recorded with the strategy's id: count and mean over the execution period. */
  metrics: Record<string, { count: number; mean: number | null }>;
  evaluated_at: string;
}

export interface ActResult {
  decision: ActDecision;
  detail: string;
  adjustments?: string[];
}

export interface Deployment {
  file: string;
  status: 'loaded' | 'unchanged' | 'skipped';
  macros: string[];
  automacros: string[];
  versions: Record<string, number>;
  /** ACT restored the content that served before this cycle. */
  rolled_back?: boolean;
  /** ACT deployed adjusted parameters. */
  adjusted?: boolean;
}
