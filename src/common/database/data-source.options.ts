import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations';
import { applySqlitePragmas } from './sqlite-pragmas';

/** `entities`: every module's (src/entities.ts); common code names no module. */
export function buildDataSourceOptions(databasePath: string, entities: DataSourceOptions['entities']): DataSourceOptions {
  if (databasePath !== ':memory:') fs.mkdirSync(path.dirname(databasePath), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: databasePath,
    entities,
    migrations: MIGRATIONS,
    migrationsRun: true,
    // Each migration in its own transaction, so a failure leaves the schema at a known version.
    migrationsTransactionMode: 'each',
    synchronize: false,
    timeout: 5000,
    prepareDatabase: (db: unknown) => applySqlitePragmas(db as import('better-sqlite3').Database),
    logging: false,
  };
}
