import { request, spawnEngine, type SpawnedEngine } from './support/engine';
import { describeEachDialect, type EngineDatabase, openEngineDatabase } from './support/engine-database';

/**
 * kill -9 while acknowledged writes go through the group commit that now writes in slices
 * (`POST /api/v1/metrics/log`: 256 rows per transaction, the loop served between) and while
 * handshakes are answered: whatever was acknowledged before the kill is in the database after it
 * (the SQLite file, or the PostgreSQL database, where integrity_check has no counterpart).
 */
describeEachDialect('crash safety of acknowledged logs and handshakes', (dialect) => {
  const WORKERS = 24;
  const KILL_AFTER_ACKS = 1_500;
  let db: EngineDatabase;
  let engine: SpawnedEngine;

  beforeAll(async () => {
    db = await openEngineDatabase(dialect, 'okai-crash-log');
    engine = await spawnEngine(db.env);
  }, 45_000);

  afterAll(async () => {
    try {
      await engine?.kill('SIGKILL');
    } finally {
      await db?.close();
    }
  }, 30_000);

  it('every acknowledged log_id and session survives SIGKILL', async () => {
    const acked: number[] = [];
    const sessions: string[] = [];
    const refused: number[] = [];
    let killed = false;
    let seq = 0;
    const worker = async (w: number): Promise<void> => {
      for (;;) {
        const i = seq++;
        try {
          if (i % 50 === 0) {
            const hs = await request(`${engine.url}/api/v1/handshake`, { body: { client: 'crash', client_version: '1', pid: i } });
            if (hs.status === 200) sessions.push(hs.body.data.session_id as string);
            else refused.push(hs.status);
            continue;
          }
          const res = await request(`${engine.url}/api/v1/metrics/log`, {
            body: { session_id: `crash-${w}`, decision_tier: 'rule', action_type: 'ATTACK', success: i % 3 !== 0, processing_time_ms: 1 + (i % 7) },
          });
          if (res.status !== 200) {
            refused.push(res.status);
            continue;
          }
          acked.push(res.body.data.log_id as number);
          if (!killed && acked.length >= KILL_AFTER_ACKS) {
            killed = true;
            engine.proc.kill('SIGKILL');
          }
        } catch {
          return; // the connection died with the process
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    expect(await engine.exited).toBeNull();
    expect(killed).toBe(true);
    // Only the crash made requests fail (dropped connections), never an answer.
    expect(refused).toEqual([]);

    if (dialect === 'sqlite') expect(Object.values((await db.query('PRAGMA integrity_check'))[0])[0]).toBe('ok');
    const ids = new Set((await db.query<{ id: number }>(`SELECT id FROM decision_log WHERE session_id LIKE 'crash-%'`)).map((r) => Number(r.id)));
    expect(acked.filter((id) => !ids.has(id))).toEqual([]);
    const stored = new Set((await db.query<{ session_id: string }>('SELECT session_id FROM player_sessions')).map((r) => r.session_id));
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.filter((s) => !stored.has(s))).toEqual([]);
  }, 120_000);
});
