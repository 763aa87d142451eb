import { DatabaseService } from '../src/common/database/database.service';
import { request, startEngine, type RunningEngine } from './support/engine';

/**
 * Spec §4.3: an interaction outcome (session statistics → reputation score and totals →
 * history row) commits all or nothing. The failure is injected into the LAST step with a TEMP
 * trigger on the engine's own connection, so the earlier steps have really run when it fails.
 */
describe('multi-step interaction unit: all or nothing', () => {
  let e: RunningEngine;
  let db: DatabaseService;
  const api = (path: string) => `${e.url}/api/v1/social${path}`;

  const snapshot = async (playerName: string, characterName: string) => ({
    player: await db.get('SELECT * FROM player_reputation WHERE player_name = ?', [playerName]),
    history: (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM interaction_history'))!.n,
    session: await db.get<{ social_interactions: number; session_id: string }>(
      'SELECT session_id, social_interactions FROM player_sessions WHERE character_name = ?',
      [characterName],
    ),
  });

  beforeAll(async () => {
    e = await startEngine();
    db = e.engine.app.get(DatabaseService);
  }, 30_000);
  afterAll(async () => {
    await e?.stop();
  }, 30_000);

  afterEach(() => {
    db.connection.exec('DROP TRIGGER IF EXISTS temp.fail_history');
  });

  const failHistoryFor = (playerName: string) =>
    db.connection.exec(`
      CREATE TEMP TRIGGER fail_history BEFORE INSERT ON main.interaction_history
      WHEN NEW.player_name = '${playerName}'
      BEGIN SELECT RAISE(ABORT, 'injected failure in the last step'); END`);

  it('a chat whose history insert fails leaves no trace in the session statistics, the score or the totals', async () => {
    const chat = { character_name: 'RollbackKnight', player_name: 'Victim', message: 'hi', message_type: 'whisper', my_level: 10, my_job: 'Knight' };
    const first = await request(api('/chat'), { body: chat });
    expect(first.status).toBe(200);
    const before = await snapshot('Victim', 'RollbackKnight');
    expect(before.session?.social_interactions).toBe(1);
    expect(before.player).toMatchObject({ total_interactions: 1 });
    const rollbacksBefore = db.counters.rollbacks;

    failHistoryFor('Victim');
    const failed = await request(api('/chat'), { body: chat });
    expect(failed.status).toBe(500);
    expect(failed.body.error.code).toBe('INTERNAL_ERROR');

    expect(await snapshot('Victim', 'RollbackKnight')).toEqual(before);
    expect(db.counters.rollbacks).toBe(rollbacksBefore + 1);
  });

  it('an adjustment whose last step fails changes neither score nor totals, and a first sighting creates no player', async () => {
    const ok = await request(api('/reputation/adjust'), { body: { player_id: 3001, player_name: 'Target', delta: 10, reason: 'first' } });
    expect(ok.status).toBe(200);
    const before = await db.get('SELECT * FROM player_reputation WHERE player_id = 3001');

    failHistoryFor('Target');
    const failed = await request(api('/reputation/adjust'), { body: { player_id: 3001, player_name: 'Target', delta: 50, reason: 'second', request_id: 'rb-3001-2' } });
    expect(failed.status).toBe(500);
    expect(await db.get('SELECT * FROM player_reputation WHERE player_id = 3001')).toEqual(before);
    expect(await db.get('SELECT COUNT(*) AS n FROM interaction_history WHERE player_id = 3001')).toEqual({ n: 1 });

    failHistoryFor2('Newcomer');
    const fresh = await request(api('/reputation/adjust'), { body: { player_id: 3002, player_name: 'Newcomer', delta: -20, reason: 'first sight' } });
    expect(fresh.status).toBe(500);
    expect((await request(api('/reputation/3002'))).status).toBe(404);

    // Nothing half-done is left behind: once the fault is gone, the same request applies exactly once.
    db.connection.exec('DROP TRIGGER IF EXISTS temp.fail_history; DROP TRIGGER IF EXISTS temp.fail_history2');
    const retried = await request(api('/reputation/adjust'), { body: { player_id: 3001, player_name: 'Target', delta: 50, reason: 'second', request_id: 'rb-3001-2' } });
    expect(retried.status).toBe(200);
    expect(retried.body.data.change).toMatchObject({ replayed: false, score_before: 10, score_after: 60 });
    expect(retried.body.data.reputation).toMatchObject({ total_interactions: 2, positive_interactions: 2 });
  });

  const failHistoryFor2 = (playerName: string) =>
    db.connection.exec(`
      CREATE TEMP TRIGGER fail_history2 BEFORE INSERT ON main.interaction_history
      WHEN NEW.player_name = '${playerName}'
      BEGIN SELECT RAISE(ABORT, 'injected failure in the last step'); END`);
});
