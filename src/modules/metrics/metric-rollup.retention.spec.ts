import type { StandaloneDatabase } from '../../common/database/database.test-kit';
import { RetentionRegistry } from '../../common/database/retention';
import { openMigratedDatabase, prunePolicy } from '../../common/database/retention.test-kit';
import { loadConfig } from '../../config/app-config';
import { MetricRollupRetention } from './metric-rollup.retention';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

describe('MetricRollupRetention', () => {
  let db: StandaloneDatabase;
  beforeEach(async () => (db = await openMigratedDatabase()));
  afterEach(() => db.close());

  it('deletes rollups whose period ended more than METRICS_RETENTION_DAYS ago, in batches', async () => {
    const stmt = db.connection.prepare(
      `INSERT INTO metrics (name, labels, period_start, period_end, sample_count, value_sum, value_min, value_max, p50, p95, p99, created_at)
       VALUES (?, '{}', ?, ?, 1, 1, 1, 1, 1, 1, 1, ?)`,
    );
    for (let i = 0; i < 5; i++) stmt.run(`old${i}`, NOW - 9 * DAY, NOW - 8 * DAY, NOW - 8 * DAY);
    stmt.run('new', NOW - DAY, NOW - DAY, NOW - DAY);
    const policy = new MetricRollupRetention(loadConfig({ METRICS_RETENTION_DAYS: '7' }), new RetentionRegistry());
    const result = await prunePolicy(db, policy, { now: NOW, batchRows: 2 });
    expect(result).toMatchObject({ deleted: 5, batches: [2, 2, 1] });
    expect(db.connection.prepare('SELECT name FROM metrics').all()).toEqual([{ name: 'new' }]);
    expect(await policy.oldestRowAt(db.service)).toBe(NOW - DAY);
  });
});
