import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from '../../common/scheduling';
import { LockManager } from '../../common/concurrency';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { CreateProcessFlags1764288000001 } from '../../common/database/migrations/1764288000001-create-process-flags';
import { CreatePdcaCycles1764547200000 } from '../../common/database/migrations/1764547200000-create-pdca-cycles';
import type { StrategySummary } from '../../common/ports/metrics-sources.port';
import { FlagService } from '../flags';
import { renderMacroTemplate } from '../macro';
import { SERIES } from '../metrics';
import type { PartialGameState } from '../state';
import { leasesFrom } from './pdca.adapters';
import { PdcaCycleStore } from './pdca-cycle.store';
import type { MacroPort, MetricsReadPort, PdcaOptions, PlanningInputPort } from './pdca.ports';
import { PdcaService } from './pdca.service';
import type { PdcaPlanner, PlanningState } from './pdca.types';
import { BuiltInPlanner } from './planners/built-in.planner';

/** Macro deployment double: records deploys, serves what was deployed, can be told to fail. */
export class FakeMacros implements MacroPort {
  readonly files = new Map<string, string>();
  readonly deploys: Array<{ file: string; content: string }> = [];
  fail: Error | null = null;
  /** While set, deploys wait for it (a reload waiting for running macro executions). */
  gate: Promise<void> | null = null;

  render(template: string, params: Record<string, unknown>) {
    const r = renderMacroTemplate(template, params);
    return { content: r.content, macros: r.macros, automacros: r.automacros };
  }

  current(file: string): string | null {
    return this.files.get(file) ?? null;
  }

  async deploy(file: string, content: string) {
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    this.deploys.push({ file, content });
    const status = this.files.get(file) === content ? ('unchanged' as const) : ('loaded' as const);
    this.files.set(file, content);
    return { status, versions: { [file]: this.deploys.length } };
  }
}

/** Metrics double: `success` is the list of 0/1 outcomes logged for every strategy id. */
export class FakeMetrics implements MetricsReadPort {
  success: number[] = [];
  readonly gauges: string[] = [];

  strategySummary(strategyId: string): StrategySummary {
    const n = this.success.length;
    const mean = n ? this.success.reduce((a, b) => a + b, 0) / n : null;
    const stats = { count: n, sum: mean === null ? 0 : mean * n, min: null, max: null, mean };
    const summary = { ...stats, name: SERIES.decisionSuccess, labels: { strategy_id: strategyId }, window_seconds: 60, p50: null, p95: null, p99: null, samples: n, lifetime: stats, last_value: null, last_at: null };
    return { strategy_id: strategyId, window_seconds: 60, metrics: n ? { [SERIES.decisionSuccess]: summary } : {} };
  }

  registerGauge(name: string): void {
    this.gauges.push(name);
  }

  registerCounter(name: string): void {
    this.gauges.push(name);
  }
}

export function knightState(over: Partial<{ party: boolean; monsters: number; skills: string[] }> = {}): PartialGameState {
  return {
    character: { name: 'Knight1', level: 50, hp: 800, max_hp: 1000, sp: 150, max_sp: 200, position: { map: 'prt_fild08', x: 100, y: 120 }, weight: 300, max_weight: 2000 },
    skills: (over.skills ?? ['Bash', 'Magnum Break']).map((name, i) => ({ id: i + 5, name, level: 10 - i, sp_cost: 8 })),
    monsters: Array.from({ length: over.monsters ?? 2 }, (_, i) => ({ id: 1000 + i, name: 'Poring', level: 1, distance: 3 + i, is_aggressive: i === 0 })),
    inventory: [{ id: 501, name: 'Red Potion', amount: 5 }],
    party_members: over.party ? [{ name: 'Priest1' }] : [],
  };
}

export class FakeInput implements PlanningInputPort {
  states: PlanningState[] = [];
  recentStates(limit: number): PlanningState[] {
    return this.states.slice(0, limit);
  }
  stateOfCharacter(name: string): PlanningState | undefined {
    return this.states.find((s) => s.character === name);
  }
  decisionStats() {
    return { total_decisions: 10, reflex_decisions: 1, rule_decisions: 5, ml_decisions: 4, llm_decisions: 0 };
  }
}

export interface PdcaHarness {
  dir: string;
  db: StandaloneDatabase;
  locks: LockManager;
  flags: FlagService;
  store: PdcaCycleStore;
  macros: FakeMacros;
  metrics: FakeMetrics;
  input: FakeInput;
  scheduler: SchedulerRegistry;
  service: PdcaService;
  /** Another engine process on the same database file (its own connection and FlagService). */
  otherProcess(ownerId?: string): { db: StandaloneDatabase; flags: FlagService; store: PdcaCycleStore };
  close(): Promise<void>;
}

/** A PdcaService on a real SQLite file with the real FlagService, fake macros/metrics/input. */
export async function createPdcaHarness(options: Partial<PdcaOptions> = {}, planner: PdcaPlanner = new BuiltInPlanner()): Promise<PdcaHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-pdca-'));
  const file = path.join(dir, 'db.sqlite');
  const locks = new LockManager();
  const db = openStandaloneDatabase(file, locks);
  await applyMigrations(db.connection, [CreateProcessFlags1764288000001, CreatePdcaCycles1764547200000]);
  const flags = new FlagService(db.service, { ownerId: 'engine-a' });
  const store = new PdcaCycleStore(db.service);
  const macros = new FakeMacros();
  const metrics = new FakeMetrics();
  const input = new FakeInput();
  input.states = [{ session_id: 's1', character: 'Knight1', updated_at: Date.now(), state: knightState() }];
  const scheduler = new SchedulerRegistry();
  const opts: PdcaOptions = { intervalMs: 0, executionPeriodMs: 300_000, leaseTtlMs: 30_000, stopPollMs: 250, ...options };
  const service = new PdcaService(opts, store, { leases: leasesFrom(flags), macros, metrics, input }, planner, new PeriodicJobs(scheduler));
  const others: StandaloneDatabase[] = [];
  return {
    dir,
    db,
    locks,
    flags,
    store,
    macros,
    metrics,
    input,
    scheduler,
    service,
    otherProcess(ownerId = 'engine-b') {
      const other = openStandaloneDatabase(file, new LockManager());
      others.push(other);
      return { db: other, flags: new FlagService(other.service, { ownerId }), store: new PdcaCycleStore(other.service) };
    },
    async close() {
      await service.onModuleDestroy();
      await flags.close();
      for (const o of others) o.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
