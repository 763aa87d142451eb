import type { StandaloneDatabase } from '../../common/database/database.test-kit';
import { RetentionRegistry } from '../../common/database/retention';
import { openMigratedDatabase, prunePolicy } from '../../common/database/retention.test-kit';
import { loadConfig } from '../../config/app-config';
import { SnapshotRetention } from './snapshot.retention';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

describe('SnapshotRetention', () => {
  let db: StandaloneDatabase;
  beforeEach(async () => (db = await openMigratedDatabase()));
  afterEach(() => db.close());

  const session = (id: string, expiredDaysAgo: number | null, snapshot = true) => {
    db.connection
      .prepare(
        `INSERT INTO player_sessions (session_id, client, client_version, status, created_at, last_seen_at, expired_at) VALUES (?, 'c', '1', ?, 0, 0, ?)`,
      )
      .run(id, expiredDaysAgo === null ? 'active' : 'expired', expiredDaysAgo === null ? null : NOW - expiredDaysAgo * DAY);
    if (snapshot) db.connection.prepare(`INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at) VALUES (?, 1, '{}', 0)`).run(id);
  };
  const snapshots = () => (db.connection.prepare('SELECT session_id FROM game_state_snapshots ORDER BY session_id').all() as Array<{ session_id: string }>).map((r) => r.session_id);

  it("deletes the snapshots of sessions expired longer ago than the period, keeps active and recently expired sessions' and the session rows", async () => {
    session('active', null);
    session('recent', 2);
    for (let i = 0; i < 5; i++) session(`old${i}`, 8 + i);
    // A snapshot written before its session row (the session is written in the background).
    db.connection.prepare(`INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at) VALUES ('orphan', 1, '{}', 0)`).run();
    const result = await prunePolicy(db, new SnapshotRetention(loadConfig({ RETENTION_SNAPSHOTS: '7d' }), new RetentionRegistry()), { now: NOW, batchRows: 2 });
    expect(result.deleted).toBe(5);
    expect(result.batches).toEqual([2, 2, 1]);
    expect(snapshots()).toEqual(['active', 'orphan', 'recent']);
    expect(db.connection.prepare('SELECT COUNT(*) AS n FROM player_sessions').get()).toEqual({ n: 7 });
  });
});
