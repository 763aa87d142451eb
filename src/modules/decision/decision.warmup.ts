import type { DataSource } from 'typeorm';
import { yieldToLoop } from '../../common/async/wait';
import { LockManager, LockName, withLock } from '../../common/concurrency';
import type { DatabaseService, WriteTx } from '../../common/database/database.service';
import { StorageGuard } from '../../common/database/storage-guard';
import type { MlPredictor } from '../../common/ports/ml-predictor.port';
import type { AppConfig } from '../../config/app-config';
import type { WarmupContext } from '../health/warmup.service';
import { SessionService } from '../session/session.service';
import { StateService } from '../state/state.service';
import { toPluginAction } from './action';
import { DecisionLogWriter } from './decision-log.writer';
import { DecisionService } from './decision.service';
import { DecideBodyPipe, StateUpdateBodyPipe } from './dto/hot-path.pipes';
import { PlannerService } from './planner.service';
import type { RuleSetService } from './rule-set.service';

/** Characters the warm-up plays: each is seen for the first time once, then ticks on. */
const CHARACTERS = 64;
/** A turn of the event loop every this many ticks: the throwaway writers flush meanwhile. */
const YIELD_EVERY = 64;

function gameState(name: string, i: number, kind: 'farm' | 'hurt' | 'empty' | 'dead'): Record<string, unknown> {
  const monsters =
    kind === 'empty'
      ? []
      : [
          { id: 1002 + (i % 7), name: 'Poring', level: 1, hp: 50, max_hp: 50, distance: 3 + (i % 5), is_aggressive: false, is_attacking_me: kind === 'hurt' },
          { id: 1113, name: 'Drops', level: 3, hp: 60, max_hp: 60, distance: 7, is_aggressive: true, is_attacking_me: false },
        ];
  return {
    character: {
      name,
      level: 50 + (i % 40),
      hp: kind === 'dead' ? 0 : kind === 'hurt' ? 90 : 800 - (i % 200),
      max_hp: 1000,
      sp: 150,
      max_sp: 200,
      position: { map: i % 2 ? 'prt_fild08' : 'pay_fild04', x: 100 + (i % 50), y: 120 },
      weight: 300,
      max_weight: 2000,
      zeny: 5000 + i,
      job_class: 'Knight',
      is_sitting: false,
    },
    skills: [{ id: 5, name: 'Bash', level: 10, sp_cost: 15 }],
    monsters,
    inventory: [{ id: 501, name: 'Red Potion', amount: 5, type: 'usable' }],
    nearby_players: [{ id: 150001, name: 'Someone', level: 70, distance: 8 }],
    party_members: [],
    timestamp_ms: Date.now(),
  };
}

/** A DatabaseService whose writes are rehearsed on the real connection and rolled back. */
function rehearsalDatabase(db: DatabaseService): DatabaseService {
  return {
    write: <T>(body: (tx: WriteTx) => T): Promise<T> => {
      let result: T | undefined;
      db.rehearse((tx) => (result = body(tx)));
      return Promise.resolve(result as T);
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
  db: DatabaseService;
  ml: () => MlPredictor | null;
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
  const state = new StateService(db, sessions, locks);
  const log = new DecisionLogWriter(db);
  const planner = new PlannerService();
  const real = deps.ml();
  const ml: MlPredictor | null = real?.rehearse && real.available ? { available: true, predictState: (s) => real.rehearse!(s) } : null;
  const decisions = new DecisionService(deps.config, deps.rules, planner, log, state, sessions, ml, null, ctx.metrics);
  const decideBody = new DecideBodyPipe();
  const stateBody = new StateUpdateBodyPipe();
  const turn = locks.resolve(LockName.SESSION);
  const kinds = ['farm', 'farm', 'hurt', 'empty', 'farm', 'dead'] as const;
  try {
    for (let i = 0; i < ctx.rounds; i++) {
      const name = `warmup-${i % CHARACTERS}`;
      const kind = kinds[i % kinds.length];
      const text = JSON.stringify({ game_state: gameState(name, i, kind), request_id: i, timestamp_ms: Date.now() });
      // What CompatController.decide does, inside a session turn as a request would be.
      await withLock(
        turn,
        async () => {
          const dto = decideBody.transform(JSON.parse(text));
          const started = performance.now();
          const sessionId = sessions.touchCharacterNow(dto.game_state.character.name);
          const snapshot = await state.apply(sessionId, { full: dto.game_state });
          const decision = await decisions.decide(snapshot);
          JSON.stringify({
            action: toPluginAction(decision.action),
            params: decision.action.params,
            reason: decision.action.reason,
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
