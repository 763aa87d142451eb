import * as path from 'node:path';
import { request, spawnEngine, type SpawnedEngine } from './support/engine';
import { describeEachDialect, type EngineDatabase, openEngineDatabase } from './support/engine-database';
import { stopEnginesOnOneDatabase } from './support/reputation-load';
import { untilValue as until } from '../src/common/testing/wait.test-kit';

/** Polls `read` until `done(value)` holds; fails with the last value after `timeoutMs`. */
interface Row {
  id: number;
  status: string;
  owner: string;
  error: string | null;
  current_phase: string;
}

const LEASE_TTL_MS = 1_500;

/**
 * Three engine processes (the built dist/) on ONE database (a SQLite file, or one PostgreSQL
 * database): one PDCA cycle at a time in total, a stop from any process, and kill -9 of the
 * process running a cycle.
 */
describeEachDialect('PDCA across engine processes (one database)', (dialect) => {
  const engines: SpawnedEngine[] = [];
  let booting: Promise<void> = Promise.resolve();
  let db: EngineDatabase;
  const rows = () => db.query<Row>('SELECT id, status, owner, error, current_phase FROM pdca_cycles ORDER BY id');
  const status = async (e: SpawnedEngine) => (await request(`${e.url}/api/v1/pdca`)).body.data;
  const trigger = (e: SpawnedEngine, reason: string) => request(`${e.url}/api/v1/pdca/trigger`, { body: { reason } });
  /** The engine whose process runs the cycle (GET /pdca says `local`). */
  const ownerOf = async (id: number): Promise<SpawnedEngine> => {
    for (const e of engines) {
      if (e.proc.exitCode !== null || e.proc.signalCode !== null) continue;
      const s = await status(e);
      if (s.current_cycle?.cycle_id === id && s.current_cycle.local) return e;
    }
    throw new Error(`no engine runs cycle ${id}`);
  };

  beforeAll(async () => {
    db = await openEngineDatabase(dialect, 'okai-pdca-mp');
    const dataDir = db.dataDir;
    const env = {
      ...db.env,
      MACRO_DIR: path.join(dataDir, 'macros'),
      MODEL_DIR: path.join(dataDir, 'models'),
      MACRO_RESCAN_INTERVAL_MS: '0',
      PDCA_INTERVAL_MS: '0',
      PDCA_EXECUTION_PERIOD_MS: '60000',
      PDCA_LEASE_TTL_MS: String(LEASE_TTL_MS),
    };
    // Sequential boots: the first one runs the migrations.
    // Kept, so that afterAll also stops an engine that came up after this hook timed out.
    booting = (async () => {
      for (let i = 0; i < 3; i++) engines.push(await spawnEngine(env));
    })();
    await booting;
  }, 120_000);

  afterAll(() => stopEnginesOnOneDatabase(booting, engines, db), 90_000);

  it('20 simultaneous triggers over 3 processes: exactly one 202, 19 × 409 BUSY, one cycle in pdca_cycles', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => trigger(engines[i % 3], `burst ${i}`)));
    const accepted = answers.filter((a) => a.status === 202);
    const busy = answers.filter((a) => a.status === 409);
    expect(accepted).toHaveLength(1);
    expect(busy).toHaveLength(19);
    for (const b of busy) expect(b.body.error.code).toBe('BUSY');
    expect(await rows()).toEqual([expect.objectContaining({ id: 1, status: 'running' })]);
    // Every process sees the one cycle; exactly one runs it.
    const views = await Promise.all(engines.map(status));
    expect(views.every((v) => v.cycle_running && v.current_cycle?.cycle_id === 1)).toBe(true);
    expect(views.filter((v) => v.current_cycle.local)).toHaveLength(1);
  });

  it('a stop sent to a process that does not run the cycle stops it within the poll period; another process then starts one', async () => {
    const owner = await ownerOf(1);
    const other = engines.find((e) => e !== owner)!;
    await until(() => status(owner), (s) => s.current_phase === 'DO', 'cycle 1 to reach DO');
    const stop = await request(`${other.url}/api/v1/pdca/stop`, { method: 'POST' });
    expect(stop.status).toBe(200);
    expect(stop.body.data).toEqual({ cycle_id: 1, stop_requested: true, status: 'stopped' });
    expect((await rows())[0]).toMatchObject({ status: 'stopped', current_phase: 'IDLE' });
    // The answer came once the cycle had ended and released its lease: a trigger anywhere is accepted at once.
    const third = engines.find((e) => e !== owner && e !== other)!;
    const next = await trigger(third, 'after stop');
    expect(next.status).toBe(202);
    expect(next.body.data.cycle_id).toBe(2);
  });

  it('kill -9 of the process running a cycle: BUSY until its lease expires, then another process starts one and the dead cycle is failed', async () => {
    const victim = await ownerOf(2);
    await until(() => status(victim), (s) => s.current_phase === 'DO', 'cycle 2 to reach DO');
    await victim.kill('SIGKILL');
    const survivors = engines.filter((e) => e !== victim);
    // Right after the kill the lease is still live: refused.
    const early = await trigger(survivors[0], 'too early');
    expect(early.status).toBe(409);
    const killedAt = Date.now();
    const accepted = await until(() => trigger(survivors[0], 'after the kill'), (r) => r.status === 202, 'the dead lease to expire', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_TTL_MS + 2_000);
    const id = accepted.body.data.cycle_id;
    expect(id).toBe(3);
    const all = await rows();
    expect(all.find((r) => r.id === 2)).toMatchObject({ status: 'failed', current_phase: 'IDLE', error: expect.stringMatching(/^abandoned/) });
    expect(all.filter((r) => r.status === 'running')).toEqual([expect.objectContaining({ id: 3 })]);
  });

  it('without any trigger, the recovery scan of a surviving process fails the cycle of a killed one once its lease expires', async () => {
    const victim = await ownerOf(3);
    await victim.kill('SIGKILL');
    const failed = await until(rows, (r) => r.find((x) => x.id === 3)?.status === 'failed', 'cycle 3 to be marked failed', 10_000);
    expect(failed.find((x) => x.id === 3)!.error).toMatch(/^abandoned/);
    const survivor = engines.find((e) => e.proc.exitCode === null && e.proc.signalCode === null)!;
    expect(await status(survivor)).toMatchObject({ cycle_running: false, cycle_count: 3, last_cycle: { cycle_id: 3, status: 'failed' } });
  });
});
