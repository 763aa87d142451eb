import { request, type SpawnedEngine } from './support/engine';
import { describeEachDialect, type EngineDatabase, openEngineDatabase } from './support/engine-database';
import { contendedPlan, driveAdjustments, expectPlanLanded, spawnEnginesOnOneFile, stopEnginesOnOneDatabase } from './support/reputation-load';

/**
 * Three engine processes on ONE database (a SQLite file, or one PostgreSQL database) take
 * concurrent adjustments of one player over HTTP. The deltas are chosen so that the running sum can never leave [-100, 100] whatever the
 * interleaving (all +1s together are 99, all -1s together -90), so no clamping hides a lost
 * update: the final score must be exactly the sum, the totals exactly the counts.
 */
describeEachDialect('reputation across processes (one database)', (dialect) => {
  const PROCESSES = 3;
  const PER_PROCESS = 200;
  const PLUS = 33;
  const MINUS = 30;
  const PLAYER = 7001;
  let db: EngineDatabase;
  const engines: SpawnedEngine[] = [];
  let booting: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    db = await openEngineDatabase(dialect, 'okai-mp');
    // Kept, so that afterAll also stops an engine that came up after this hook timed out.
    booting = spawnEnginesOnOneFile(engines, PROCESSES, db.env);
    await booting;
  }, 120_000);

  afterAll(() => stopEnginesOnOneDatabase(booting, engines, db), 90_000);

  it('lands every adjustment exactly once: score = sum, totals = counts, no busy error, one history row each', async () => {
    const plan = contendedPlan({ processes: PROCESSES, perProcess: PER_PROCESS, plus: PLUS, minus: MINUS, player: PLAYER, idPrefix: 'mp' });

    const results = await Promise.all(engines.map((e, p) => driveAdjustments(e.url, plan[p], 40)));

    const check = await expectPlanLanded(engines, db, plan, results, { plus: PLUS, minus: MINUS, player: PLAYER });
    expect(check.integrity).toBe('ok');

    // Contention really crossed processes (reported, not asserted: it depends on timing).
    const counters = await Promise.all(engines.map(async (e) => (await request(`${e.url}/api/v1/admin/locks`)).body.data?.database));
    process.stdout.write(`multi-process database counters: ${JSON.stringify(counters)}\n`);
  }, 60_000);
});
