import * as path from 'node:path';
import { untilValue } from '../src/common/testing/wait.test-kit';
import { request, spawnEngine, type SpawnedEngine } from './support/engine';
import { describeEnginesOnPostgres, type EngineDatabase, openEngineDatabase } from './support/engine-database';
import { stopEnginesOnOneDatabase } from './support/reputation-load';

interface Row {
  id: number;
  status: string;
  owner: string;
  lease_token: number;
  error: string | null;
}

const LEASE_TTL_MS = 1_500;

/**
 * Three engine processes on one fresh PostgreSQL database: 20 PDCA triggers sent at once, spread
 * over the three → exactly one cycle in the cluster (the `pdca_running` flag, a compare-and-set
 * row with a fencing token). kill -9 of the engine running it → refused until its lease expires,
 * then another engine starts one, and the dead engine's cycle is marked failed.
 * (pdca-multiprocess.e2e-spec.ts runs the longer scenario — stop from another engine, recovery
 * scan without a trigger — on both dialects.)
 */
describeEnginesOnPostgres('PDCA across 3 engines on one PostgreSQL database', () => {
  const engines: SpawnedEngine[] = [];
  let booting: Promise<void> = Promise.resolve();
  let db: EngineDatabase;
  const rows = () => db.query<Row>('SELECT id, status, owner, lease_token, error FROM pdca_cycles ORDER BY id');
  const status = async (e: SpawnedEngine) => (await request(`${e.url}/api/v1/pdca`)).body.data;
  const trigger = (e: SpawnedEngine, reason: string) => request(`${e.url}/api/v1/pdca/trigger`, { body: { reason } });
  const alive = (e: SpawnedEngine) => e.proc.exitCode === null && e.proc.signalCode === null;

  beforeAll(async () => {
    db = await openEngineDatabase('postgres', 'okai_pg_pdca');
    const env = {
      ...db.env,
      MACRO_DIR: path.join(db.dataDir, 'macros'),
      MODEL_DIR: path.join(db.dataDir, 'models'),
      MACRO_RESCAN_INTERVAL_MS: '0',
      PDCA_INTERVAL_MS: '0',
      PDCA_EXECUTION_PERIOD_MS: '60000',
      PDCA_LEASE_TTL_MS: String(LEASE_TTL_MS),
    };
    // The first boot migrates the fresh database; the others find it current.
    // Kept, so that afterAll also stops an engine that came up after this hook timed out.
    booting = (async () => {
      engines.push(await spawnEngine(env));
      await Promise.all([1, 2].map(async () => engines.push(await spawnEngine(env))));
    })();
    await booting;
  }, 120_000);

  afterAll(() => stopEnginesOnOneDatabase(booting, engines, db, 'SIGKILL'), 90_000);

  it('20 simultaneous triggers over 3 engines: one cycle; kill -9 of its owner → refused until the lease TTL, then another engine starts one and the dead cycle is failed', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => trigger(engines[i % 3], `burst ${i}`)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array.from({ length: 19 }, () => 409)]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.code).toBe('BUSY');
    const first = (await rows()) as Row[];
    expect(first).toEqual([expect.objectContaining({ status: 'running' })]);
    const cycleId = first[0].id;

    // Exactly one engine runs it; every engine sees it.
    const views = await Promise.all(engines.map(status));
    expect(views.every((v) => v.cycle_running && v.current_cycle?.cycle_id === cycleId)).toBe(true);
    const owner = engines[views.findIndex((v) => v.current_cycle.local)];
    expect(views.filter((v) => v.current_cycle.local)).toHaveLength(1);

    await untilValue(() => status(owner), (s) => s.current_phase === 'DO', 'the cycle to reach DO');
    await owner.kill('SIGKILL');
    const killedAt = Date.now();
    const survivors = engines.filter(alive);
    expect(survivors).toHaveLength(2);
    // The dead owner's lease still lives: refused.
    const early = await trigger(survivors[0], 'too early');
    expect(early.status).toBe(409);

    const accepted = await untilValue(() => trigger(survivors[1], 'after the kill'), (r) => r.status === 202, 'the dead lease to expire', 15_000);
    // Not before the lease could have expired (it was renewed at most a TTL before the kill).
    expect(Date.now() - killedAt).toBeLessThan(LEASE_TTL_MS + 5_000);
    const all = await rows();
    expect(all.find((r) => r.id === cycleId)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^abandoned/) });
    const running = all.filter((r) => r.status === 'running');
    expect(running).toEqual([expect.objectContaining({ id: accepted.body.data.cycle_id })]);
    // The new cycle runs under a newer fencing token of the flag.
    expect(running[0].lease_token).toBeGreaterThan(all.find((r) => r.id === cycleId)!.lease_token);
  }, 120_000);
});
