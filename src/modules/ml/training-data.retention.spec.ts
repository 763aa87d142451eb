import { Logger } from '@nestjs/common';
import type { StandaloneDatabase } from '../../common/database/database.test-kit';
import { RetentionRegistry } from '../../common/database/retention';
import { openMigratedDatabase, prunePolicy } from '../../common/database/retention.test-kit';
import { loadConfig } from '../../config/app-config';
import { FlagService } from '../flags';
import { TRAINING_FLAG } from './ml.constants';
import { TrainingDataRetention } from './training-data.retention';

interface Row {
  id: number;
  success: number;
  source: string;
}

describe('TrainingDataRetention', () => {
  let db: StandaloneDatabase;
  let flags: FlagService;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    db = await openMigratedDatabase();
    flags = new FlagService(db.service);
  });
  afterEach(async () => {
    await flags.close();
    db.close();
  });

  /** Rows in id order: `u` usable api sample, `f` failed api sample, `U`/`F` the same from feedback. */
  const insert = (pattern: string) => {
    const stmt = db.connection.prepare(`INSERT INTO training_data (features, action, success, source, created_at) VALUES ('[]', 'ATTACK', ?, ?, ?)`);
    db.connection.transaction(() => {
      for (const c of pattern) stmt.run(c.toLowerCase() === 'u' ? 1 : 0, c === c.toUpperCase() ? 'feedback' : 'api', Date.now());
    })();
  };
  const rows = () => db.connection.prepare('SELECT id, success, source FROM training_data ORDER BY id').all() as Row[];
  const pattern = () => rows().map((r) => (r.success ? 'u' : 'f')[r.source === 'feedback' ? 'toUpperCase' : 'toLowerCase']()).join('');
  const policy = (env: Record<string, string>) => new TrainingDataRetention(loadConfig({ ML_TRAIN_MAX_SAMPLES: '1', ...env }), new RetentionRegistry(), flags);

  it('keeps the newest usable samples and every row after the oldest of them, plus the newest feedback rows', async () => {
    insert('ufUFuf' + 'FuUfuf' + 'ufuFfu');
    const p = policy({ RETENTION_TRAINING_ROWS: '3', RETENTION_TRAINING_FEEDBACK_ROWS: '2' });
    const result = await prunePolicy(db, p, { now: Date.now(), batchRows: 4 });
    // The window: the 3 newest usable samples are ids 13, 15, 18, so ids 13-18 ('ufuFfu') stay.
    // Feedback rows are ids 3, 4, 7, 9, 16: the newest two (16, in the window, and 9) stay.
    expect(pattern()).toBe('U' + 'ufuFfu');
    expect(result.deleted).toBe(11);
    expect(Math.max(...result.batches)).toBeLessThanOrEqual(4);
  });

  it('with fewer usable samples than the window, deletes nothing', async () => {
    insert('ffFfu');
    const result = await prunePolicy(db, policy({ RETENTION_TRAINING_ROWS: '2' }), { now: Date.now(), batchRows: 10 });
    expect(result).toMatchObject({ deleted: 0 });
    expect(rows()).toHaveLength(5);
  });

  it('RETENTION_TRAINING_FEEDBACK_ROWS=0 keeps no feedback row beyond the window; with fewer feedback rows than it, keeps all of them', async () => {
    insert('UFufu' + 'uu');
    await prunePolicy(db, policy({ RETENTION_TRAINING_ROWS: '2', RETENTION_TRAINING_FEEDBACK_ROWS: '0' }), { now: Date.now(), batchRows: 10 });
    expect(pattern()).toBe('uu');
    db.connection.exec('DELETE FROM training_data');
    insert('UFufu' + 'uu');
    await prunePolicy(db, policy({ RETENTION_TRAINING_ROWS: '2', RETENTION_TRAINING_FEEDBACK_ROWS: '10' }), { now: Date.now(), batchRows: 10 });
    expect(pattern()).toBe('UF' + 'uu');
  });

  it('deletes nothing while a training run holds training_in_progress (any process), and stops when one starts between batches', async () => {
    insert('u'.repeat(30));
    const p = policy({ RETENTION_TRAINING_ROWS: '5', RETENTION_TRAINING_FEEDBACK_ROWS: '0' });
    const lease = (await flags.tryAcquire(TRAINING_FLAG, 60_000))!;
    expect(await prunePolicy(db, p, { now: Date.now(), batchRows: 5 })).toMatchObject({ deleted: 0, held: expect.stringContaining('training_in_progress') });
    expect(rows()).toHaveLength(30);
    await flags.release(lease);

    // The flag is taken after the first batch: checked inside each delete transaction.
    let batches = 0;
    const original = db.service.write.bind(db.service);
    jest.spyOn(db.service, 'write').mockImplementation(async (body, options) => {
      if (batches++ === 1) await flags.tryAcquire(TRAINING_FLAG, 60_000);
      return original(body, options);
    });
    const result = await prunePolicy(db, p, { now: Date.now(), batchRows: 5 });
    expect(result).toMatchObject({ deleted: 5, held: expect.stringContaining('training_in_progress') });
    expect(rows()).toHaveLength(25);
  });
});
