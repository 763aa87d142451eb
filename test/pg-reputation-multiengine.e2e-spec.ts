import { type SpawnedEngine } from './support/engine';
import { describeEnginesOnPostgres, type EngineDatabase, openEngineDatabase } from './support/engine-database';
import { contendedPlan, driveAdjustments, expectPlanLanded, spawnEnginesOnOneFile, stopEnginesOnOneDatabase } from './support/reputation-load';

/**
 * Two engine processes on one fresh PostgreSQL database (DATABASE_URL), real HTTP: 300
 * adjustments of one player sent all at once, spread over both. PostgreSQL runs them at read
 * committed, many at a time; the unit of work locks the player's row, so the result must be what
 * one serial writer gives — the exact score and totals, one history row per request, the history
 * one chain. The deltas keep every running sum inside [-100, 100] (49 × +1 and 50 × -1 per
 * engine among zeros), so no clamp can hide a lost update.
 */
describeEnginesOnPostgres('reputation from 2 engines on one PostgreSQL database', () => {
  const ENGINES = 2;
  const PER_ENGINE = 150;
  const PLUS = 49;
  const MINUS = 50;
  const PLAYER = 7101;
  let db: EngineDatabase;
  const engines: SpawnedEngine[] = [];
  let booting: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    db = await openEngineDatabase('postgres', 'okai_pg_rep');
    // Kept, so that afterAll also stops an engine that came up after this hook timed out.
    booting = spawnEnginesOnOneFile(engines, ENGINES, db.env);
    await booting;
  }, 90_000);

  afterAll(() => stopEnginesOnOneDatabase(booting, engines, db), 90_000);

  it('300 concurrent adjustments over both engines: exact score and totals, one history row each, one chain', async () => {
    const plan = contendedPlan({ processes: ENGINES, perProcess: PER_ENGINE, plus: PLUS, minus: MINUS, player: PLAYER, idPrefix: 'pgrep' });
    // Every request in flight at once: 150 per engine.
    const results = await Promise.all(engines.map((e, p) => driveAdjustments(e.url, plan[p], PER_ENGINE)));

    await expectPlanLanded(engines, db, plan, results, { plus: PLUS, minus: MINUS, player: PLAYER });
  }, 120_000);
});
