import type { MetricsPort } from '../../common/ports/metrics-sources.port';
import type { DecisionStatsView, PlanningState } from './pdca.types';

/**
 * What the PDCA module uses of other modules, kept behind small interfaces so the cycle manager
 * depends on shapes, not on their classes (pdca.module.ts builds the adapters; the unit specs
 * pass fakes). FlagService, MacroService, the METRICS port, SessionService/StateService and
 * DecisionService are the implementations.
 */

/** A held `pdca_running` lease (FlagService's FlagLease). */
export interface PdcaLease {
  readonly owner: string;
  readonly token: number;
  readonly active: boolean;
}

/** The cross-process flag (FlagService). */
export interface LeasePort {
  readonly ownerId: string;
  tryAcquire(flag: string, ttlMs: number, options: { onLost?: () => void }): Promise<PdcaLease | null>;
  release(lease: PdcaLease): Promise<boolean>;
  /** The flag's holder as the database says now (held = a live lease). */
  get(flag: string): Promise<{ held: boolean; owner: string | null; token: number; expires_at: number | null } | null>;
}

export interface RenderedMacros {
  content: string;
  macros: string[];
  automacros: string[];
}

/** Macro deployment through the macro module (validated, atomic, hot-reload safe). */
export interface MacroPort {
  /** Renders a template (throws a 400 error for parameters it cannot render safely). */
  render(template: string, params: Record<string, unknown>): RenderedMacros;
  /** The content now serving from `file` (its loaded blocks, in file order), or null when none. */
  current(file: string): string | null;
  /** Writes `content` as `file` and resolves once the registry loaded it (or refused it: throws). */
  deploy(file: string, content: string): Promise<{ status: 'loaded' | 'unchanged'; versions: Record<string, number> }>;
}

/** The METRICS port's part PDCA uses: CHECK's summary, and the phase gauge / cycle counter. Absent without the metrics module. */
export type MetricsReadPort = Pick<MetricsPort, 'strategySummary' | 'registerGauge' | 'registerCounter'>;

/** The planner's view of the farm: recent game states and decision counts. */
export interface PlanningInputPort {
  /** Latest snapshots of the active sessions, freshest first (at most `limit`). */
  recentStates(limit: number): PlanningState[];
  /** The recent state of one character's session, if it has one. */
  stateOfCharacter(name: string): PlanningState | undefined;
  decisionStats(): DecisionStatsView | null;
}

export interface PdcaPorts {
  leases: LeasePort;
  macros: MacroPort;
  metrics: MetricsReadPort | null;
  input: PlanningInputPort;
}

export const PDCA_PORTS = Symbol('PDCA_PORTS');
export const PDCA_PLANNER = Symbol('PDCA_PLANNER');
export const PDCA_OPTIONS = Symbol('PDCA_OPTIONS');

export interface PdcaOptions {
  /** 0: no scheduled cycles. */
  intervalMs: number;
  executionPeriodMs: number;
  leaseTtlMs: number;
  /** Bound on the shutdown's wait for a stopping cycle (default 5 s). */
  shutdownWaitMs?: number;
  /** How often a running cycle looks for a stop requested by another process (default 250 ms). */
  stopPollMs?: number;
}
