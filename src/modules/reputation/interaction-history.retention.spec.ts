import type { StandaloneDatabase } from '../../common/database/database.test-kit';
import { RetentionRegistry } from '../../common/database/retention';
import { openMigratedDatabase, prunePolicy } from '../../common/database/retention.test-kit';
import { loadConfig } from '../../config/app-config';
import { InteractionHistoryRetention } from './interaction-history.retention';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

describe('InteractionHistoryRetention', () => {
  let db: StandaloneDatabase;
  beforeEach(async () => (db = await openMigratedDatabase()));
  afterEach(() => db.close());

  /** A player with one history row per age (days before NOW), oldest first, and the matching lifetime total. */
  const player = (id: number, agesInDays: number[]) => {
    db.connection
      .prepare(
        `INSERT INTO player_reputation (player_id, player_name, reputation_score, total_interactions, first_seen, last_seen, created_at, updated_at)
         VALUES (?, ?, 7, ?, 0, 0, 0, 0)`,
      )
      .run(id, `p${id}`, agesInDays.length);
    const stmt = db.connection.prepare(
      `INSERT INTO interaction_history (player_id, player_name, interaction_type, outcome, reputation_delta, applied_delta, score_before, score_after, tier_after, source, created_at)
       VALUES (?, ?, 'trade', 'ok', 1, 1, 0, 1, 'Neutral', 'api', ?)`,
    );
    for (const age of agesInDays) stmt.run(id, `p${id}`, NOW - age * DAY);
  };
  const ages = (id: number) =>
    (db.connection.prepare('SELECT created_at FROM interaction_history WHERE player_id = ? ORDER BY id').all(id) as Array<{ created_at: number }>).map(
      (r) => (NOW - r.created_at) / DAY,
    );
  const policy = (env: Record<string, string> = {}) =>
    new InteractionHistoryRetention(loadConfig({ RETENTION_INTERACTIONS: '30d', RETENTION_INTERACTIONS_KEEP: '3', ...env }), new RetentionRegistry());

  it('per player keeps the newest N and everything younger than the period; scores are untouched', async () => {
    player(1, [90, 80, 70, 60, 50, 40, 10, 5]); // 2 young + newest 3 → keeps 40, 10, 5
    player(2, [90, 80, 70, 60, 50, 40, 35]); // none young → keeps the newest 3
    player(3, [90, 80]); // fewer than N: all kept
    player(-4, [100, 99, 98, 97, 96, 20, 19, 18, 17]); // young ones beyond N are kept too
    const result = await prunePolicy(db, policy(), { now: NOW, batchRows: 2 });
    expect(ages(1)).toEqual([40, 10, 5]);
    expect(ages(2)).toEqual([50, 40, 35]);
    expect(ages(3)).toEqual([90, 80]);
    expect(ages(-4)).toEqual([20, 19, 18, 17]);
    expect(result.deleted).toBe(5 + 4 + 5);
    expect(Math.max(...result.batches)).toBeLessThanOrEqual(2);
    const scores = db.connection.prepare('SELECT reputation_score AS s FROM player_reputation').all() as Array<{ s: number }>;
    expect(scores.every((r) => r.s === 7)).toBe(true);
  });

  it('RETENTION_INTERACTIONS_KEEP=0 keeps only the young rows; RETENTION_INTERACTIONS=0 keeps everything', async () => {
    player(1, [90, 40, 10]);
    await prunePolicy(db, policy({ RETENTION_INTERACTIONS: '0' }), { now: NOW, batchRows: 10 });
    expect(ages(1)).toEqual([90, 40, 10]);
    await prunePolicy(db, policy({ RETENTION_INTERACTIONS_KEEP: '0' }), { now: NOW, batchRows: 10 });
    expect(ages(1)).toEqual([10]);
  });
});
