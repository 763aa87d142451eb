import type { DataSource } from 'typeorm';
import { yieldToLoop } from '../../common/async/wait';
import { LockManager, LockName, withLock } from '../../common/concurrency';
import type { DatabaseService, WriteBody } from '../../common/database/database.service';
import { StorageGuard } from '../../common/database/storage-guard';
import type { MlPredictor } from './ml-predictor.port';
import type { AppConfig } from '../../config/app-config';
import type { WarmupContext } from '../health';
import type { TablesService } from '../progression';
import { SessionService } from '../session';
import { StateService } from '../state';
import { DecisionLogWriter } from './decision-log.writer';
import { DecisionService } from './decision.service';
import { DecideBodyPipe, StateUpdateBodyPipe } from './dto/hot-path.pipes';
import { toPluginAnswer } from './plugin-action';
import { pluginKnowledge } from './plugin-knowledge';
import { PlannerService } from './planner.service';
import { pluginShapedDecideBody } from './plugin-shaped-state';
import type { RuleSetService } from './rule-set.service';

/** Characters the warm-up plays: each is seen for the first time once, then ticks on. */
const CHARACTERS = 64;
/** A turn of the event loop every this many ticks: the throwaway writers flush meanwhile. */
const YIELD_EVERY = 64;

/** A DatabaseService whose writes are rehearsed on the real connection and rolled back. */
function rehearsalDatabase(db: DatabaseService): DatabaseService {
  return {
    write: async <T>(body: WriteBody<T>): Promise<T> => {
      let result: T | undefined;
      await db.rehearse(async (tx) => (result = await body(tx)));
      return result as T;
    },
    get: () => undefined,
    all: () => [],
    // Its own guard: the warm-up's optional rows are never shed nor its flushes deferred on the
    // engine's guard, whose counters stay untouched.
    storage: new StorageGuard(),
  } as unknown as DatabaseService;
}

export interface DecisionWarmupDeps {
  config: AppConfig;
  rules: RuleSetService;
  /** The data tables (read only): the answer mapping and the healing items read them. */
  tables: TablesService;
  db: DatabaseService;
  /** The ML module's predictor, when loaded: the warm-up runs its model uncounted (`rehearse`). */
  ml: MlPredictor | null;
}

/**
 * The plugin's decide route and POST /state, below HTTP, run on throwaway instances of the
 * services they call: the same classes, so V8 optimizes the very functions the first bots
 * will run (validation, first-sight session, state apply, the tiers, the action queue, the
 * decision-log row, the answer) — while nothing reaches the engine's own sessions, snapshots,
 * decision counts, metrics or locks. Their writes are rehearsed on the database and rolled
 * back; the ML tier runs the real model, uncounted.
 */
export async function warmDecisionPath(deps: DecisionWarmupDeps, ctx: WarmupContext): Promise<void> {
  const db = rehearsalDatabase(deps.db);
  const locks = new LockManager();
  const sessions = new SessionService(deps.config, null as unknown as DataSource, db);
  const state = new StateService(db, sessions);
  const log = new DecisionLogWriter(db);
  const planner = new PlannerService();
  const real = deps.ml;
  const ml: MlPredictor | null = real?.rehearse && real.available ? { available: true, predictState: (s) => real.rehearse!(s) } : null;
  const decisions = new DecisionService(deps.config, deps.rules, planner, log, state, sessions, ml, ctx.metrics, deps.tables);
  const decideBody = new DecideBodyPipe();
  const stateBody = new StateUpdateBodyPipe();
  const turn = locks.resolve(LockName.SESSION);
  try {
    for (let i = 0; i < ctx.rounds; i++) {
      const name = `warmup-${i % CHARACTERS}`;
      const text = pluginShapedDecideBody(name, i);
      // What CompatController.decide does, inside a session turn as a request would be.
      await withLock(
        turn,
        async () => {
          const dto = decideBody.transform(JSON.parse(text));
          const started = performance.now();
          const sessionId = sessions.touchCharacterNow(dto.game_state.character.name);
          const snapshot = state.applyNow(sessionId, { full: dto.game_state });
          const decision = await decisions.decide(snapshot);
          const answer = toPluginAnswer(decision.action, snapshot.state, pluginKnowledge(deps.tables.current));
          JSON.stringify({
            action: answer.action,
            params: answer.params,
            reason: answer.reason,
            tier_used: decision.decision_tier,
            latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
            request_id: dto.request_id,
            session_id: sessionId,
            state_version: snapshot.version,
          });
          // And POST /state with a patch on the same session.
          if (i % 4 === 0) {
            const patch = stateBody.transform(JSON.parse(JSON.stringify({ session_id: sessionId, patch: { character: { hp: 700, sp: 120 } }, merge_strategy: 'LAST_WRITE_WINS' })));
            const next = await state.apply(patch.session_id, { patch: patch.patch, strategy: patch.merge_strategy, expectedVersion: patch.expected_version });
            JSON.stringify(await decisions.decide(next));
          }
        },
        { key: name },
      );
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
    }
  } finally {
    // Their rows are rehearsed (rolled back) too: the writing code is warm, the tables untouched.
    await Promise.all([log.beforeApplicationShutdown(), state.beforeApplicationShutdown(), sessions.flush()]);
    planner.onModuleDestroy();
  }
}
