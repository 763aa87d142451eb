import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { MIGRATIONS } from '../../common/database/migrations';
import { loadConfig } from '../../config/app-config';
import { VacuumService } from './vacuum.service';

/** A database as an engine before incremental auto-vacuum made it: auto_vacuum off, WAL, some rows. */
async function olderDatabase(file: string, rows: number): Promise<void> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  await applyMigrations(db, MIGRATIONS);
  const stmt = db.prepare(`INSERT INTO decision_log (session_id, decision_tier, action_type, reason, processing_time_ms, created_at) VALUES ('s', 'rule', 'ATTACK', ?, 1, 0)`);
  db.transaction(() => {
    for (let i = 0; i < rows; i++) stmt.run('x'.repeat(200));
  })();
  db.close();
}

describe('VacuumService: converting a database made before incremental auto-vacuum', () => {
  let dir: string;
  let db: StandaloneDatabase | undefined;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-vacuum-'))));
  afterEach(() => {
    db?.close();
    db = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const open = async (env: Record<string, string>) => {
    const file = path.join(dir, 'openkore-ai.db');
    await olderDatabase(file, 2_000);
    db = openStandaloneDatabase(file);
    const vacuum = new VacuumService(loadConfig({ DATA_DIR: dir, ...env }), db.service);
    return { vacuum, db };
  };

  it('converts it at boot when it is small enough, keeping every row', async () => {
    const { vacuum, db } = await open({});
    expect(vacuum.mode).toBe('none');
    await vacuum.onModuleInit();
    expect(vacuum.mode).toBe('incremental');
    expect(vacuum.state()).toMatchObject({ auto_vacuum: 'incremental', conversion_pending: false, boot_conversion: { auto_vacuum: 'incremental' } });
    expect(db.connection.prepare('SELECT COUNT(*) AS n FROM decision_log').get()).toEqual({ n: 2_000 });
  });

  it('leaves a larger one for the admin command, which converts it', async () => {
    const { vacuum, db } = await open({ STORAGE_BOOT_VACUUM_MAX_MB: '0' });
    await vacuum.onModuleInit();
    expect(vacuum.state()).toMatchObject({ auto_vacuum: 'none', conversion_pending: true, boot_conversion: null });
    const result = await vacuum.vacuumNow();
    expect(result.auto_vacuum).toBe('incremental');
    expect(vacuum.state()).toMatchObject({ auto_vacuum: 'incremental', conversion_pending: false, running: false });
    expect(db.connection.prepare('SELECT COUNT(*) AS n FROM decision_log').get()).toEqual({ n: 2_000 });
  });
});
