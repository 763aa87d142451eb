import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { loadConfig } from '../../src/config/app-config';
import { postgresUnavailable, startPostgres, type PgTestServer } from '../../src/common/database/pg.test-kit';
import { numbered } from '../../src/common/database/sql-dialect';
import { tempDir } from './engine';

/** The databases an engine runs on: the embedded SQLite file (default) or PostgreSQL (`DATABASE_URL`). */
export type Dialect = 'sqlite' | 'postgres';
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

/**
 * One fresh database for the engines of a suite, whichever the dialect: the environment every
 * engine on it gets, and direct reads of what they committed (the suites check the rows
 * themselves, not only what the engines answer).
 */
export interface EngineDatabase {
  readonly dialect: Dialect;
  /** DATA_DIR (always: macros, models, the SQLite file) and DATABASE_URL (empty on SQLite). */
  readonly env: Readonly<Record<string, string>>;
  readonly dataDir: string;
  /** Rows as committed, `?` placeholders; numbers as numbers on both dialects. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Closes the reader, drops the database (PostgreSQL) and removes DATA_DIR. */
  close(): Promise<void>;
}

let server: Promise<PgTestServer> | undefined;
let users = 0;

/** One PostgreSQL server per test file, shared by its suites; stopped when the last closes. */
function pgServer(): Promise<PgTestServer> {
  server ??= startPostgres();
  users += 1;
  return server;
}

async function releasePgServer(): Promise<void> {
  users -= 1;
  if (users > 0 || !server) return;
  const s = server;
  server = undefined;
  await (await s).stop();
}

export async function openEngineDatabase(dialect: Dialect, prefix = 'okai'): Promise<EngineDatabase> {
  const dataDir = tempDir(`${prefix}-`);
  if (dialect === 'sqlite') {
    const file = path.join(dataDir, 'openkore-ai.db');
    return {
      dialect,
      // Empty: SQLite, also when this test process has DATABASE_URL (test/support/engine.ts).
      env: { DATA_DIR: dataDir, DATABASE_URL: '' },
      dataDir,
      async query<T>(sql: string, params: readonly unknown[] = []) {
        // A connection per read: WAL makes it safe beside running engines, and nothing stays
        // open here. Not read-only: after a kill -9 the first connection recovers the WAL.
        const db = new Database(file, { fileMustExist: true });
        try {
          db.pragma('busy_timeout = 5000');
          return db.prepare(sql).all(...params) as T[];
        } finally {
          db.close();
        }
      },
      async close() {
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const pg = await pgServer();
  let pool: Pool | undefined;
  try {
    const url = await pg.createDatabase(prefix);
    pool = new Pool({ connectionString: url, max: 2 });
    const reader = pool;
    return {
      dialect,
      env: { DATA_DIR: dataDir, DATABASE_URL: url },
      dataDir,
      async query<T>(sql: string, params: readonly unknown[] = []) {
        const { rows, fields } = await reader.query(numbered(sql), params as unknown[]);
        // BIGINT and NUMERIC arrive as strings from pg: numbers, as SQLite gives them.
        const numeric = new Set(fields.filter((f) => f.dataTypeID === 20 || f.dataTypeID === 1700).map((f) => f.name));
        return rows.map((r: Record<string, unknown>) => {
          for (const k of numeric) if (r[k] !== null && r[k] !== undefined) r[k] = Number(r[k]);
          return r as T;
        });
      },
      async close() {
        try {
          await reader.end();
        } finally {
          fs.rmSync(dataDir, { recursive: true, force: true });
          await releasePgServer();
        }
      },
    };
  } catch (err) {
    await pool?.end();
    await releasePgServer();
    throw err;
  }
}

/**
 * Why the built engine cannot run on PostgreSQL here, or null. Two reasons: no PostgreSQL server
 * (pg.test-kit's, which fails instead under CI / REQUIRE_POSTGRES), or an engine whose
 * configuration does not take `DATABASE_URL` (it would run on SQLite in DATA_DIR and the suite
 * would prove nothing about PostgreSQL).
 */
export function enginePostgresUnavailable(): string | null {
  const server = postgresUnavailable();
  if (server) return server;
  const probe = 'postgres://probe@127.0.0.1:1/probe_database_url';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-cfg-'));
  try {
    const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: probe });
    if (!JSON.stringify(config).includes('probe_database_url')) return 'the engine does not select PostgreSQL with DATABASE_URL (its configuration ignores it)';
  } catch (err) {
    return `the engine refuses DATABASE_URL: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return null;
}

/**
 * `describe` once per dialect, the name suffixed with it: SQLite always, PostgreSQL when the
 * engine can run on it here (else skipped, the reason on stderr). `sqliteOnly`: the suite is
 * about SQLite alone — then PostgreSQL is skipped with that reason.
 */
export function describeEachDialect(name: string, fn: (dialect: Dialect) => void, options: { sqliteOnly?: string } = {}): void {
  for (const dialect of DIALECTS) {
    const title = `${name} [${dialect}]`;
    if (dialect === 'sqlite') {
      describe(title, () => fn(dialect));
      continue;
    }
    const reason = options.sqliteOnly ?? enginePostgresUnavailable();
    if (reason) {
      process.stderr.write(`skipped "${title}": ${reason}\n`);
      describe.skip(title, () => fn(dialect));
    } else {
      describe(title, () => fn(dialect));
    }
  }
}

/** `describe` on PostgreSQL only (the acceptance suites), skipped with the reason when the engine cannot run on it here. */
export function describeEnginesOnPostgres(name: string, fn: () => void): void {
  const reason = enginePostgresUnavailable();
  if (reason) {
    process.stderr.write(`skipped "${name}": ${reason}\n`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}
