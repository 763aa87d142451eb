import { Pool } from 'pg';
import { describePostgres, startPostgres, type PgTestServer } from '../../common/database/pg.test-kit';
import { PostgresWriter } from '../../common/database/postgres-writer';
import { SessionLeaseRepository, type SessionRowUpsert, upsertSessionRow } from './session-lease.repository';

/** The fenced upsert's SQL (`INSERT … SELECT ? … WHERE <fence> ON CONFLICT …`) on a real PostgreSQL. */
describePostgres('session row writes fenced by the lease (real PostgreSQL)', () => {
  let server: PgTestServer;
  let pool: Pool;
  let writer: PostgresWriter;
  // The fence only runs statements in the caller's transaction.
  const repo = new SessionLeaseRepository(null as never);
  const snapshot = (sessionId: string, version: number): SessionRowUpsert => ({
    into: 'INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at)',
    values: [sessionId, version, `{"v":${version}}`, 1_000 + version],
    onConflict: `ON CONFLICT(session_id) DO UPDATE SET version = excluded.version, state_json = excluded.state_json, updated_at = excluded.updated_at
       WHERE excluded.version > game_state_snapshots.version`,
  });
  const stored = async () => (await pool.query<{ session_id: string; version: number; pid: number | null }>('SELECT session_id, version::int AS version, pid FROM game_state_snapshots ORDER BY session_id')).rows;

  beforeAll(async () => {
    server = await startPostgres();
    pool = new Pool({ connectionString: await server.createDatabase('fence'), max: 2 });
    await pool.query(`
      CREATE TABLE session_leases (session_id TEXT PRIMARY KEY, instance_id TEXT, token BIGINT NOT NULL);
      CREATE TABLE game_state_snapshots (session_id TEXT PRIMARY KEY, version BIGINT NOT NULL, state_json TEXT NOT NULL, updated_at BIGINT NOT NULL, pid INTEGER);
      INSERT INTO session_leases VALUES ('ours', 'A', 2), ('released', NULL, 3);`);
    writer = new PostgresWriter(pool, {});
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('writes under the lease held, refuses under another token, another instance or a lease it never held; a version no newer is no refusal', async () => {
    const out = await writer.write(async (tx) => [
      await repo.upsertFenced(tx, snapshot('ours', 1), 'ours', 'A', 2),
      // Stored version 1 already: nothing written, but the fence held.
      await repo.upsertFenced(tx, snapshot('ours', 1), 'ours', 'A', 2),
      await repo.upsertFenced(tx, snapshot('ours', 5), 'ours', 'A', 1),
      await repo.upsertFenced(tx, snapshot('ours', 5), 'ours', 'B', 2),
      await repo.upsertFenced(tx, snapshot('ours', 5), 'ours', 'A', undefined),
      await repo.upsertFenced(tx, snapshot('released', 1), 'released', 'A', 3),
      // Never leased, and no token held: written.
      await repo.upsertFenced(tx, snapshot('unleased', 1), 'unleased', 'A', undefined),
    ]);
    expect(out).toEqual([true, true, false, false, false, false, true]);
    expect(await stored()).toEqual([
      { session_id: 'ours', version: 1, pid: null },
      { session_id: 'unleased', version: 1, pid: null },
    ]);
  });

  it('the unfenced upsert and a NULL parameter into an integer column', async () => {
    await writer.write(async (tx) => {
      await upsertSessionRow(tx, { ...snapshot('plain', 4), into: 'INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at, pid)', values: ['plain', 4, '{}', 0, null] });
      expect(
        await repo.upsertFenced(tx, { ...snapshot('ours', 2), into: 'INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at, pid)', values: ['ours', 2, '{}', 0, null] }, 'ours', 'A', 2),
      ).toBe(true);
    });
    expect(await stored()).toEqual(expect.arrayContaining([{ session_id: 'plain', version: 4, pid: null }, { session_id: 'ours', version: 2, pid: null }]));
  });
});
