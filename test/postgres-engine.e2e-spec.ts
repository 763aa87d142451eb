import { DatabaseService } from '../src/common/database/database.service';
import { describePostgres, type PgTestServer, startPostgres } from '../src/common/database/pg.test-kit';
import { DecisionLogWriter, PLUGIN_ACTIONS } from '../src/modules/decision';
import { request, runEngineToExit, type RunningEngine, startEngine, tempDir } from './support/engine';
import { fieldDecideBody } from './support/field-plugin';
import { pluginGameState } from './support/game-state';

const HOUR = 3_600_000;

/**
 * One engine on a real PostgreSQL (DATABASE_URL), over real HTTP: the plugin's routes, state
 * with versions, reputation, a macro upload, memories, the storage report, readiness, a restart
 * on the same database and a prune — the same API as on SQLite, the rows on the server.
 */
describePostgres('an engine on PostgreSQL', () => {
  let server: PgTestServer;
  let e: RunningEngine | undefined;
  let dataDir: string;
  let macroDir: string;
  const env = () => ({
    DATA_DIR: dataDir,
    MACRO_DIR: macroDir,
    MACRO_DEBOUNCE_MS: '50',
    MACRO_RESCAN_INTERVAL_MS: '0',
    RETENTION_DECISION_LOG: '1h',
    RETENTION_BATCH_ROWS: '50',
    RETENTION_PRUNE_INTERVAL: '1h',
  });
  const url = (p: string) => `${e!.url}${p}`;
  const db = () => e!.engine.app.get(DatabaseService);
  const count = async (sql: string, params: unknown[] = []) => Number((await db().get<{ n: number }>(sql, params))!.n);

  let sid: string;

  beforeAll(async () => {
    server = await startPostgres();
    dataDir = tempDir('okai-pg-e2e-');
    macroDir = tempDir('okai-pg-macros-');
    e = await startEngine(env(), { postgres: server });
  }, 120_000);

  afterAll(async () => {
    try {
      await e?.stop();
    } finally {
      await server?.stop();
    }
  }, 60_000);

  it('runs on PostgreSQL: the storage report says so, readiness pings the server', async () => {
    expect(e!.databaseUrl).toMatch(/^postgres:\/\//);
    expect(db().dialect).toBe('postgres');
    const ready = await request(url('/health/ready'));
    expect(ready.status).toBe(200);
    expect(ready.body.details.database.status).toBe('up');
    const health = await request(url('/health'));
    expect(health.status).toBe(200);
    expect(health.body.components.database.status).toBe('healthy');
    expect(health.body.components.disk).toEqual({ status: 'healthy', detail: 'free space not watched: the database is not under DATA_DIR' });
  });

  it("answers the field plugin's decide route and records its decisions", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await request(url('/api/v1/decide'), { body: fieldDecideBody({ name: 'PgSorrel' }) });
      expect(res.status).toBe(200);
      expect(PLUGIN_ACTIONS).toContain(res.body.action);
    }
    await e!.engine.app.get(DecisionLogWriter).flush();
    expect(await count('SELECT COUNT(*) AS n FROM decision_log')).toBeGreaterThanOrEqual(5);
    // COUNT(*) and BIGINT (epoch ms, ids) come back as numbers, as on SQLite; SUM of a BIGINT (NUMERIC) too.
    const row = (await db().get<Record<string, unknown>>('SELECT COUNT(*) AS n, MAX(id) AS id, MAX(created_at) AS t, SUM(created_at) AS s FROM decision_log'))!;
    expect(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v]))).toEqual({ n: 'number', id: 'number', t: 'number', s: 'number' });
    expect(row.t).toBeGreaterThan(Date.now() - HOUR);
  });

  it('applies state updates with versions and refuses a stale one', async () => {
    const hs = await request(url('/api/v1/handshake'), { body: { client: 'pg-e2e', client_version: '1' } });
    expect(hs.status).toBe(200);
    sid = hs.body.data.session_id as string;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => request(url('/api/v1/state'), { body: { session_id: sid, game_state: pluginGameState({ hp: 500 + i }) } })));
    expect(results.filter((r) => r.status !== 200 && r.status !== 202).map((r) => r.body)).toEqual([]);
    expect(results.map((r) => r.body.data.version as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const stale = await request(url('/api/v1/state'), { body: { session_id: sid, game_state: pluginGameState(), expected_version: 3 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
    const snap = await request(url(`/api/v1/state/${sid}`));
    expect(snap.body.data.version).toBe(20);
  });

  it('adjusts reputation exactly, once per request id, with history', async () => {
    const adjust = (body: Record<string, unknown>) => request(url('/api/v1/social/reputation/adjust'), { body });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => adjust({ player_id: 7001, player_name: 'Pg', delta: 1, reason: 'helped', request_id: `pg-${i}` })));
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 200));
    // A retried request is applied once.
    expect((await adjust({ player_id: 7001, player_name: 'Pg', delta: 1, reason: 'helped', request_id: 'pg-0' })).status).toBe(200);
    const view = await request(url('/api/v1/social/reputation/7001'));
    expect(view.body.data).toMatchObject({ player_id: 7001, reputation_score: 30, total_interactions: 30, is_friend: false });
    const history = await request(url('/api/v1/social/reputation/7001/history?limit=50'));
    expect(history.body.data.items).toHaveLength(30);
    expect(await count('SELECT COUNT(*) AS n FROM interaction_history WHERE player_id = ?', [7001])).toBe(30);
  });

  it('accepts a macro upload and keeps its version on the server', async () => {
    const put = await request(url('/api/v1/macro/pgMacro'), { method: 'PUT', body: { content: 'do sit\npause 1' } });
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({ status: 'loaded', versions: { 'macro:pgMacro': 1 } });
    expect(await count(`SELECT COUNT(*) AS n FROM macro_versions WHERE macro_name = 'pgMacro'`)).toBe(1);
  });

  it('stores memories (embeddings as BYTEA) and retrieves them by similarity', async () => {
    const store = await request(url('/api/v1/memory/store'), {
      body: { session_id: sid, event: { type: 'trade', situation: 'sold a knife to Pg for 300 zeny' }, importance: 0.8 },
    });
    expect(store.status).toBe(200);
    await request(url('/api/v1/memory/store'), { body: { session_id: sid, event: { type: 'death', situation: 'killed by a poring in a field' }, importance: 0.4 } });
    const row = (await db().get<{ embedding: unknown; dims: number }>('SELECT embedding, dims FROM memories WHERE id = ?', [store.body.data.memory_id]))!;
    expect(Buffer.isBuffer(row.embedding)).toBe(true);
    expect((row.embedding as Buffer).byteLength).toBe(row.dims * 4);
    const back = await request(url('/api/v1/memory/retrieve'), { body: { session_id: sid, current_state: { type: 'trade', situation: 'sold a knife for zeny' }, top_k: 2 } });
    expect(back.status).toBe(200);
    expect(back.body.data.total_memories).toBe(2);
    expect(back.body.data.memories[0].memory_id).toBe(store.body.data.memory_id);
  });

  it('reports rows and bytes per table from the server', async () => {
    const view = await request(url('/api/v1/admin/storage'));
    expect(view.status).toBe(200);
    expect(view.body.data.dialect).toBe('postgres');
    expect(view.body.data.database).toMatchObject({ dialect: 'postgres', name: expect.stringMatching(/^e2e_/) });
    expect(view.body.data.database.database_bytes).toBeGreaterThan(0);
    const history = view.body.data.tables.find((t: { table: string }) => t.table === 'interaction_history');
    expect(history).toMatchObject({ rows: 30 });
    expect(history.bytes).toBeGreaterThan(0);
    expect(view.body.data.vacuum.auto_vacuum).toBe('server');
    const vacuum = await request(url('/api/v1/admin/storage/vacuum'), { method: 'POST' });
    expect(vacuum.status).toBe(422);
    expect(vacuum.body.error.code).toBe('UNPROCESSABLE');
  });

  it('a restart on the same database keeps the state and the reputation', async () => {
    await e!.stop();
    e = undefined;
    e = await startEngine(env(), { postgres: server });
    const snap = await request(url(`/api/v1/state/${sid}`));
    expect(snap.status).toBe(200);
    expect(snap.body.data.version).toBe(20);
    const next = await request(url('/api/v1/state'), { body: { session_id: sid, game_state: pluginGameState(), expected_version: 20 } });
    expect(next.status).toBe(200);
    expect(next.body.data.version).toBe(21);
    const view = await request(url('/api/v1/social/reputation/7001'));
    expect(view.body.data).toMatchObject({ reputation_score: 30, total_interactions: 30 });
  }, 60_000);

  it('prunes old rows in batches and nothing younger', async () => {
    await e!.engine.app.get(DecisionLogWriter).flush();
    const young = await count('SELECT COUNT(*) AS n FROM decision_log');
    const old = Date.now() - 2 * HOUR;
    await db().write(async (tx) => {
      for (let i = 0; i < 120; i++) {
        await tx.run(`INSERT INTO decision_log (session_id, decision_tier, action_type, processing_time_ms, created_at) VALUES ('old', 'rule', 'ATTACK', 1.5, ?)`, [old + i]);
      }
    });
    // As a long-running engine has them: the old rows in front of the young ones.
    await db().write((tx) => tx.run(`UPDATE decision_log SET id = id + 1000000 WHERE session_id <> 'old'`));
    const res = await request(url('/api/v1/admin/storage/prune'), { method: 'POST' });
    expect(res.status).toBe(200);
    const decisions = res.body.data.tables.find((t: { table: string }) => t.table === 'decision_log');
    expect(decisions).toMatchObject({ deleted: 120, batches: 3, largest_batch: 50 });
    expect(await count(`SELECT COUNT(*) AS n FROM decision_log WHERE session_id = 'old'`)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM decision_log')).toBe(young);
  });
});

describe('DATABASE_URL at boot', () => {
  it('a URL that is not PostgreSQL stops the built engine with exit code 2, naming the variable and never echoing the URL', async () => {
    const { code, output } = await runEngineToExit({ PORT: '0', COMPAT_PORT: '0', DATA_DIR: tempDir(), DATABASE_URL: 'mysql://root:hunter2@db/okai' });
    expect(code).toBe(2);
    expect(output).toContain('DATABASE_URL');
    expect(output).toContain('mysql://');
    expect(output).not.toContain('hunter2');
  });

  it('a PostgreSQL server that does not answer fails the boot (no engine serving without its database)', async () => {
    const { code, output } = await runEngineToExit({ PORT: '0', COMPAT_PORT: '0', DATA_DIR: tempDir(), DATABASE_URL: 'postgres://okai@127.0.0.1:1/okai' });
    expect(code).not.toBe(0);
    expect(output).toMatch(/ECONNREFUSED|connect/i);
    expect(output).not.toContain('"listening"');
  });
});
