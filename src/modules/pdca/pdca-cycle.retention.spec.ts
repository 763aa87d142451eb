import type { StandaloneDatabase } from '../../common/database/database.test-kit';
import { RetentionRegistry } from '../../common/database/retention';
import { openMigratedDatabase, prunePolicy } from '../../common/database/retention.test-kit';
import { loadConfig } from '../../config/app-config';
import { PdcaCycleRetention } from './pdca-cycle.retention';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

describe('PdcaCycleRetention', () => {
  let db: StandaloneDatabase;
  beforeEach(async () => (db = await openMigratedDatabase()));
  afterEach(() => db.close());

  const cycle = (status: string, startedDaysAgo: number, finishedDaysAgo: number | null) =>
    db.connection
      .prepare(
        `INSERT INTO pdca_cycles (status, trigger_type, trigger_reason, current_phase, phases, owner, lease_token, started_at, finished_at, updated_at)
         VALUES (?, 'manual', 'test', 'IDLE', '[]', 'me', 1, ?, ?, 0)`,
      )
      .run(status, NOW - startedDaysAgo * DAY, finishedDaysAgo === null ? null : NOW - finishedDaysAgo * DAY);
  const statuses = () => (db.connection.prepare('SELECT status FROM pdca_cycles ORDER BY id').all() as Array<{ status: string }>).map((r) => r.status);

  it('deletes finished cycles older than the period, never a running one however old', async () => {
    cycle('running', 400, null);
    cycle('completed', 200, 199);
    cycle('failed', 150, 149);
    cycle('stopped', 100, 91);
    cycle('completed', 10, 9);
    const result = await prunePolicy(db, new PdcaCycleRetention(loadConfig({ RETENTION_PDCA: '90d' }), new RetentionRegistry()), { now: NOW, batchRows: 2 });
    expect(result.deleted).toBe(3);
    expect(statuses()).toEqual(['running', 'completed']);
  });
});
