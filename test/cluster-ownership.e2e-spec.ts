import { until } from '../src/common/testing/wait.test-kit';
import { request, spawnEngine, type SpawnedEngine } from './support/engine';
import { describeEachDialect, type EngineDatabase, openEngineDatabase } from './support/engine-database';
import { pluginGameState } from './support/game-state';

const LEASE_TTL_MS = 2_000;

const decide = (url: string, name: string, hp: number) =>
  request(`${url}/api/v1/decide`, { body: { game_state: pluginGameState({ name, hp }), request_id: hp } });

/**
 * Two engine processes on one database (a SQLite file, or one PostgreSQL database), no load balancer: a bot served by A is refused by
 * B with A's address (409 SESSION_ELSEWHERE); after kill -9 of A, once A's lease has expired, B
 * takes the bot over and its state version continues from A's last persisted snapshot.
 */
describeEachDialect('bot ownership across two engine processes (one database)', (dialect) => {
  let db: EngineDatabase;
  const engines: SpawnedEngine[] = [];
  const one = async <T>(sql: string, params: unknown[]) => (await db.query<T>(sql, params))[0];

  beforeAll(async () => {
    db = await openEngineDatabase(dialect, 'okai-cluster');
    const env = { ...db.env, SESSION_LEASES: '1', SESSION_LEASE_TTL_MS: String(LEASE_TTL_MS) };
    engines.push(await spawnEngine({ ...env, INSTANCE_ID: 'engine-a' }));
    engines.push(await spawnEngine({ ...env, INSTANCE_ID: 'engine-b' }));
  }, 120_000);

  afterAll(async () => {
    try {
      await Promise.all(engines.map((e) => e.kill('SIGKILL')));
    } finally {
      await db?.close();
    }
  }, 30_000);

  it('409 SESSION_ELSEWHERE names the owner; after kill -9 of the owner the other takes over from the last persisted snapshot', async () => {
    const [a, b] = engines;
    // A serves the bot: every answer says so.
    let version = 0;
    for (let hp = 900; hp > 880; hp--) {
      const res = await decide(a.url, 'Ownedbot', hp);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-openkore-instance')).toBe('engine-a');
      expect(res.body.state_version).toBe(++version);
    }
    const sessionId = (await decide(a.url, 'Ownedbot', 880)).body.session_id as string;
    version += 1;

    // B refuses it, by character name and by session id, naming A and its address.
    const byName = await decide(b.url, 'Ownedbot', 700);
    expect(byName.status).toBe(409);
    expect(byName.headers.get('x-openkore-instance')).toBe('engine-b');
    expect(byName.body.error).toMatchObject({
      code: 'SESSION_ELSEWHERE',
      details: { session_id: sessionId, instance_id: 'engine-a', advertised_url: a.url },
    });
    const byId = await request(`${b.url}/api/v1/action_feedback`, { body: { session_id: sessionId, action: 'attack_monster', status: 'success' } });
    expect(byId.status).toBe(409);
    expect(byId.body.error).toMatchObject({ code: 'SESSION_ELSEWHERE', details: { instance_id: 'engine-a' } });

    // The cluster as both see it: two live instances, A holding the one lease.
    const cluster = await request(`${b.url}/api/v1/admin/cluster`);
    expect(cluster.status).toBe(200);
    expect(cluster.body.data.instance).toMatchObject({ instance_id: 'engine-b', advertised_url: b.url, leases_held: 0 });
    expect(cluster.body.data.instances.map((i: { instance_id: string; leases: number }) => [i.instance_id, i.leases])).toEqual([
      ['engine-a', 1],
      ['engine-b', 0],
    ]);

    // A's snapshots reach the file in the background (every second); wait for the latest, then
    // serve a few more ticks that may or may not be persisted when A dies.
    await until(
      async () => (await one<{ version: number }>('SELECT version FROM game_state_snapshots WHERE session_id = ?', [sessionId]))?.version === version,
      'A persisting its snapshot',
      20_000,
      25,
    );
    for (let i = 0; i < 3; i++) {
      const res = await decide(a.url, 'Ownedbot', 870 - i);
      expect(res.status).toBe(200);
    }
    await a.kill('SIGKILL');
    const persisted = await one<{ version: number; state_json: string }>('SELECT version, state_json FROM game_state_snapshots WHERE session_id = ?', [sessionId]);
    const lease = await one<{ instance_id: string; token: number; expires_at: number }>('SELECT instance_id, token, expires_at FROM session_leases WHERE session_id = ?', [sessionId]);
    expect(lease).toMatchObject({ instance_id: 'engine-a', token: 1 });
    expect(persisted.version).toBeGreaterThanOrEqual(version);

    // B keeps refusing while A's lease is live, and takes the bot over on its first request after it expired.
    let takenOver: Awaited<ReturnType<typeof decide>> | undefined;
    while (!takenOver) {
      const sentAt = Date.now();
      const res = await decide(b.url, 'Ownedbot', 500);
      if (res.status === 200) takenOver = res;
      else {
        expect(res.status).toBe(409);
        expect(res.body.error.details.instance_id).toBe('engine-a');
        // Never refused after the lease's expiry (same host, same clock; 50 ms for the request's own time).
        expect(sentAt).toBeLessThan(lease.expires_at + 50);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(Date.now()).toBeGreaterThanOrEqual(lease.expires_at);
    expect(takenOver.headers.get('x-openkore-instance')).toBe('engine-b');
    expect(takenOver.body.session_id).toBe(sessionId);
    // The state continues from A's last persisted snapshot: one more than its version.
    expect(takenOver.body.state_version).toBe(persisted.version + 1);
    const after = await one('SELECT instance_id, token FROM session_leases WHERE session_id = ?', [sessionId]);
    expect(after).toEqual({ instance_id: 'engine-b', token: 2 });

    // A is gone from the live instances once its own row expires; B holds the lease.
    await until(
      async () => (await request(`${b.url}/api/v1/admin/cluster`)).body.data.instances.length === 1,
      'A to leave the live instances',
      20_000,
      25,
    );
    const final = (await request(`${b.url}/api/v1/admin/cluster`)).body.data;
    expect(final.instances).toEqual([expect.objectContaining({ instance_id: 'engine-b', leases: 1 })]);
    expect(final.instance.leases_held).toBe(1);
  });
});
