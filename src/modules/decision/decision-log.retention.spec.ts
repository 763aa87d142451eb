import fc from 'fast-check';
import type { StandaloneDatabase } from '../../common/database/database.test-kit';
import { PruneStoppedError, RetentionRegistry } from '../../common/database/retention';
import { openMigratedDatabase, prunePolicy } from '../../common/database/retention.test-kit';
import { loadConfig } from '../../config/app-config';
import { DecisionLogRetention } from './decision-log.retention';

const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;

describe('DecisionLogRetention', () => {
  let db: StandaloneDatabase;
  beforeEach(async () => (db = await openMigratedDatabase()));
  afterEach(() => db.close());

  const insert = (times: number[]) => {
    const stmt = db.connection.prepare(
      `INSERT INTO decision_log (session_id, decision_tier, action_type, processing_time_ms, created_at) VALUES ('s', 'rule', 'ATTACK', 1, ?)`,
    );
    db.connection.transaction(() => times.forEach((t) => stmt.run(t)))();
  };
  const remaining = () => (db.connection.prepare('SELECT created_at FROM decision_log ORDER BY id').all() as Array<{ created_at: number }>).map((r) => r.created_at);
  const policy = (retention = '1h', rows = '0') => new DecisionLogRetention(loadConfig({ RETENTION_DECISION_LOG: retention, RETENTION_DECISION_LOG_ROWS: rows }), new RetentionRegistry());

  it('deletes the rows older than the retention in batches of at most batchRows, and nothing younger', async () => {
    const old = Array.from({ length: 250 }, (_, i) => NOW - 2 * HOUR + i);
    const young = Array.from({ length: 40 }, (_, i) => NOW - HOUR + 1 + i);
    insert([...old, ...young]);
    const result = await prunePolicy(db, policy(), { now: NOW, batchRows: 100 });
    expect(result.deleted).toBe(250);
    expect(result.batches).toEqual([100, 100, 50]);
    expect(remaining()).toEqual(young);
    // Nothing left to do: no batch at all.
    expect((await prunePolicy(db, policy(), { now: NOW, batchRows: 100 })).batches).toEqual([]);
  });

  it('RETENTION_DECISION_LOG=0 keeps everything', async () => {
    insert([1, 2, 3]);
    expect((await prunePolicy(db, policy('0'), { now: NOW, batchRows: 100 })).deleted).toBe(0);
    expect(remaining()).toHaveLength(3);
  });

  it('keeps at most RETENTION_DECISION_LOG_ROWS rows: the oldest beyond go, whatever their age', async () => {
    insert(Array.from({ length: 230 }, (_, i) => NOW - 1_000 + i));
    const result = await prunePolicy(db, policy('1h', '100'), { now: NOW, batchRows: 50 });
    expect(result.deleted).toBe(130);
    expect(Math.max(...result.batches)).toBeLessThanOrEqual(50);
    expect(remaining()).toEqual(Array.from({ length: 100 }, (_, i) => NOW - 1_000 + 130 + i));
    // Both limits: the age first, then the cap.
    db.connection.exec('DELETE FROM decision_log');
    insert([...Array.from({ length: 20 }, () => NOW - 2 * HOUR), ...Array.from({ length: 150 }, () => NOW)]);
    expect((await prunePolicy(db, policy('1h', '100'), { now: NOW, batchRows: 50 })).deleted).toBe(70);
    expect(remaining()).toHaveLength(100);
  });

  it('stops between batches when the job stops (shutdown), keeping what it has not reached', async () => {
    insert(Array.from({ length: 300 }, (_, i) => i));
    await expect(prunePolicy(db, policy(), { now: NOW, batchRows: 100, stopAfterBatches: 1 })).rejects.toBeInstanceOf(PruneStoppedError);
    expect(remaining()).toHaveLength(200);
  });

  it('never deletes a row younger than the retention, whatever order rows were written in (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -3 * HOUR, max: HOUR }), { maxLength: 120 }),
        fc.integer({ min: 1, max: 50 }),
        async (offsets, batchRows) => {
          db.connection.exec('DELETE FROM decision_log');
          const times = offsets.map((o) => NOW - HOUR + o);
          insert(times);
          await prunePolicy(db, policy(), { now: NOW, batchRows });
          const left = remaining();
          const young = times.filter((t) => t >= NOW - HOUR);
          // Every young row is still there, in order.
          expect(left.filter((t) => t >= NOW - HOUR)).toEqual(young);
          // Every row ahead of the first young one (in write order) is gone: what is left is a
          // subsequence of the rows from the first young one on.
          const firstYoung = times.findIndex((t) => t >= NOW - HOUR);
          const tail = firstYoung === -1 ? [] : times.slice(firstYoung);
          let i = 0;
          for (const t of left) {
            while (i < tail.length && tail[i] !== t) i++;
            expect(i).toBeLessThan(tail.length);
            i++;
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
