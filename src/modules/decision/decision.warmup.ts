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
import type { RuleSetService } from './rule-set.service';

/** Characters the warm-up plays: each is seen for the first time once, then ticks on. */
const CHARACTERS = 64;
/** A turn of the event loop every this many ticks: the throwaway writers flush meanwhile. */
const YIELD_EVERY = 64;

type Kind = 'farm' | 'hurt' | 'dying' | 'cornered' | 'empty' | 'heavy' | 'dead';

/**
 * A decide body's game state as the OpenKore plugin in the field builds it (docs/field-plugin.md
 * §4.3): skills by handle without id, monsters with `is_aggressive` only, players without id,
 * `party_members` `{}`, equipment slots as numbers or "unknown", raw values as numbers or
 * decimal strings — so the validator's and the answer mapping's branches the farm takes are warm.
 */
function gameState(name: string, i: number, kind: Kind): Record<string, unknown> {
  const text = i % 2 === 1;
  const raw = (n: number): number | string => (text ? String(n) : n);
  const monsters =
    kind === 'empty'
      ? []
      : [
          { id: 20 + (i % 7), name: 'Poring', hp: 0, max_hp: 0, distance: 3 + (i % 5), is_aggressive: kind === 'hurt' || kind === 'dying' || kind === 'cornered' },
          { id: 31, name: 'Drops', hp: 0, max_hp: 0, distance: 7, is_aggressive: false },
        ];
  const hp = kind === 'dead' ? 0 : kind === 'hurt' ? 300 : kind === 'dying' || kind === 'cornered' ? 90 : 800 - (i % 200);
  const inventory: Array<Record<string, unknown>> =
    kind === 'cornered'
      ? []
      : [
          { id: 501, name: 'Red Potion', amount: 5, type: kind === 'dying' ? 'misc' : raw(0), equipped: false, invIndex: 0 },
          { id: 909, name: 'Jellopy', amount: 12 + (i % 5), type: raw(3), equipped: false, invIndex: 1 },
          { id: 1116, name: 'Katana', amount: 1, type: raw(5), equipped: true, invIndex: 2 },
          { id: 601, name: 'Fly Wing', amount: 3, type: raw(2), equipped: false, invIndex: 3 },
        ];
  if (kind === 'dying') inventory.splice(0, 1);
  return {
    character: {
      name,
      level: 50 + (i % 40),
      job_level: 30,
      base_exp: 1_000 + i,
      base_exp_max: 90_000,
      job_exp: 0,
      job_exp_max: 40_000,
      hp,
      max_hp: 1000,
      sp: 150,
      max_sp: 200,
      points_free: 0,
      points_skill: 0,
      ...{ str: 50, agi: 40, vit: 20, int: 1, dex: 30, luk: 1 },
      ...{ points_str: 6, points_agi: 5, points_vit: 3, points_int: 2, points_dex: 4, points_luk: 2 },
      position: { map: i % 2 ? 'prt_fild08' : 'pay_fild04', x: 100 + (i % 50), y: 120 },
      weight: kind === 'heavy' ? 1900 : 300,
      max_weight: 2000,
      zeny: 5000 + i,
      job_class: 'Knight',
      status_effects: [],
      equipment: [
        { slot: raw(2), name: 'Katana', id: 1116 },
        { slot: 'unknown', name: 'Muffler', id: 2503 },
      ],
      guild: { name: '', id: '', position: '' },
      active_quests: 0,
    },
    skills: [
      { name: 'NV_BASIC', level: 9, sp_cost: 0 },
      { name: 'SM_BASH', level: 10, sp_cost: 15 },
    ],
    monsters,
    inventory,
    nearby_players: [{ name: 'Someone', level: 70, guild: '', distance: 8, is_party_member: false, job_class: 'Priest' }],
    party_members: {},
    timestamp_ms: Date.now(),
  };
}

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
  const kinds: readonly Kind[] = ['farm', 'farm', 'hurt', 'empty', 'farm', 'dying', 'heavy', 'cornered', 'farm', 'dead'];
  try {
    for (let i = 0; i < ctx.rounds; i++) {
      const name = `warmup-${i % CHARACTERS}`;
      const kind = kinds[i % kinds.length];
      const text = JSON.stringify({ game_state: gameState(name, i, kind), request_id: `req_${Date.now()}_${i}`, timestamp_ms: Date.now() });
      // What CompatController.decide does, inside a session turn as a request would be.
      await withLock(
        turn,
        async () => {
          const dto = decideBody.transform(JSON.parse(text));
          const started = performance.now();
          const sessionId = sessions.touchCharacterNow(dto.game_state.character.name);
          const snapshot = await state.apply(sessionId, { full: dto.game_state });
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
