import * as fs from 'node:fs';
import * as path from 'node:path';
import { types as pgTypes } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations';
import { applySqlitePragmas } from './sqlite-pragmas';

/** Where the engine's database is: the SQLite file, or the PostgreSQL server when `databaseUrl` is set. */
export interface DatabaseLocation {
  databasePath: string;
  databaseUrl?: string;
  databasePoolSize?: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * BIGINT (epoch ms, counters, ids, fencing tokens) and NUMERIC (what SUM() of a BIGINT is) come
 * from `pg` as strings by default; the engine's are all below 2^53, and SQLite hands them out
 * as numbers: numbers here too, so no caller needs to know the dialect. A value beyond 2^53
 * stays a string rather than be silently rounded. Per pool, not `pg`'s global defaults.
 */
function parseNumber(text: string): number | string {
  const n = Number(text);
  return Number.isFinite(n) && (Number.isSafeInteger(n) || !/^-?\d+$/.test(text)) ? n : text;
}

export const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if ((oid === INT8_OID || oid === NUMERIC_OID) && format !== 'binary') return parseNumber;
    return (pgTypes.getTypeParser as (oid: number, format?: 'text' | 'binary') => (value: string) => unknown)(oid, format);
  },
};

/** `entities`: every module's (src/entities.ts); common code names no module. */
export function buildDataSourceOptions(location: DatabaseLocation, entities: DataSourceOptions['entities']): DataSourceOptions {
  if (location.databaseUrl !== undefined) {
    return {
      type: 'postgres',
      url: location.databaseUrl,
      entities,
      migrations: MIGRATIONS,
      // Run by initializeDataSource under an advisory lock: instances booting together on one
      // server must not both apply a migration.
      migrationsRun: false,
      // Each migration in its own transaction (PostgreSQL's DDL is transactional).
      migrationsTransactionMode: 'each',
      synchronize: false,
      // One pool for the process: TypeORM's (migrations, the session repository) is also the
      // DatabaseService's; ended with the data source at shutdown.
      poolSize: location.databasePoolSize ?? 10,
      extra: { types: PG_TYPES, connectionTimeoutMillis: 10_000 },
      logging: false,
    };
  }
  const databasePath = location.databasePath;
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

/** pg_advisory_lock key of the migration run ("okaimigr" as a number): one instance migrates at a time. */
const MIGRATION_LOCK_KEY = 0x6f6b61696d696772n;
/** Bound of an instance's wait for another one's migration run. */
const MIGRATION_LOCK_TIMEOUT_MS = 120_000;

/**
 * The data source, initialized and migrated. SQLite: TypeORM runs the migrations at initialize
 * (`migrationsRun`). PostgreSQL: under a session advisory lock, so that instances started
 * together apply each migration once; the others wait (bounded), then find nothing to run.
 */
export async function initializeDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  if (options.type !== 'postgres') return dataSource;
  try {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`SET lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS}`);
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
      try {
        await dataSource.runMigrations({ transaction: 'each' });
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
      }
    } finally {
      // The connection goes back to the pool: without this session's setting.
      await runner.query('RESET lock_timeout').catch(() => undefined);
      await runner.release();
    }
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}
