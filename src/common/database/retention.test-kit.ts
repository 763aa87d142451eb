import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from './database.test-kit';
import { MIGRATIONS } from './migrations';
import { createPruneContext, type PruneOutcome, type RetentionPolicy } from './retention';

/** A migrated standalone database in a temporary folder, for retention specs. */
export async function openMigratedDatabase(): Promise<StandaloneDatabase & { dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-retention-'));
  const db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
  await applyMigrations(db.connection, MIGRATIONS);
  return {
    ...db,
    dir,
    close: () => {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PruneResult extends PruneOutcome {
  /** Rows deleted by each batch, in order. */
  batches: number[];
}

/** Runs one policy's prune as the prune job does (`stopAfterBatches`: the job stops then). */
export async function prunePolicy(
  db: StandaloneDatabase,
  policy: RetentionPolicy,
  options: { now: number; batchRows: number; stopAfterBatches?: number },
): Promise<PruneResult> {
  const batches: number[] = [];
  const ctx = createPruneContext(db.service, {
    now: options.now,
    batchRows: options.batchRows,
    table: policy.table,
    stopping: () => options.stopAfterBatches !== undefined && batches.length >= options.stopAfterBatches,
    onBatch: (rows) => batches.push(rows),
  });
  const outcome = await policy.prune!(ctx);
  return { ...outcome, batches };
}
