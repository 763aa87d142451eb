import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startPostgres, type PgTestServer } from '../src/common/database/pg.test-kit';
import { loadConfig } from '../src/config/app-config';

/**
 * PostgreSQL for the bench, beside SQLite: `BENCH_DATABASE_URL` (a server where the user may
 * CREATE DATABASE; each scenario gets a fresh database, dropped afterwards) or, unset, a
 * throwaway cluster the bench starts and stops itself (scripts/pg-throwaway.sh) when a
 * PostgreSQL server is installed. Null, with the reason printed, when neither.
 */
export async function benchPostgres(): Promise<PgTestServer | null> {
  try {
    return await startPostgres({ adminUrl: process.env.BENCH_DATABASE_URL });
  } catch (err) {
    console.log(`PostgreSQL rows skipped: ${err instanceof Error ? err.message.split('\n')[0] : String(err)} (set BENCH_DATABASE_URL or install postgresql)`);
    return null;
  }
}

/** Why the built engine cannot run on PostgreSQL (its configuration ignores DATABASE_URL), or null. */
export function engineIgnoresDatabaseUrl(): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-cfg-'));
  try {
    const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: 'postgres://probe@127.0.0.1:1/probe_database_url' });
    return JSON.stringify(config).includes('probe_database_url') ? null : 'the engine does not select PostgreSQL with DATABASE_URL';
  } catch (err) {
    return `the engine refuses DATABASE_URL: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
