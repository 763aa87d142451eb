import Database from 'better-sqlite3';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { LockManager, LockName } from '../concurrency';
import { DatabaseService } from './database.service';
import { applySqlitePragmas } from './sqlite-pragmas';
import type { StorageGuard } from './storage-guard';

/**
 * Makes the database "full" the way SQLite says it (SQLITE_FULL) without filling a disk: no page
 * beyond those it has now; `limitPages(connection, null)` lifts the limit.
 */
export function limitPages(connection: Database.Database, pages: number | null = Number(connection.pragma('page_count', { simple: true }))): void {
  connection.pragma(`max_page_count = ${pages ?? 1_073_741_823}`);
}

/**
 * A DatabaseService on a plain better-sqlite3 connection with the engine's pragmas, without
 * Nest or TypeORM: for unit specs, benchmarks and the small child processes of multi-process
 * tests (which load this from dist/).
 */
export interface StandaloneDatabase {
  connection: Database.Database;
  service: DatabaseService;
  close(): void;
}

export function openStandaloneDatabase(file: string, locks: LockManager = new LockManager(), storage?: StorageGuard): StandaloneDatabase {
  const connection = new Database(file);
  applySqlitePragmas(connection);
  const dataSource = { driver: { databaseConnection: connection } } as unknown as DataSource;
  const service = new DatabaseService(dataSource, locks.resolve(LockName.DATABASE), storage);
  return {
    connection,
    service,
    close: () => {
      if (connection.open) connection.close();
    },
  };
}

/** Runs the given migrations' `up` with raw SQL on the connection (they only use `query`). */
export async function applyMigrations(connection: Database.Database, migrations: ReadonlyArray<new () => MigrationInterface>): Promise<void> {
  const runner = {
    query: (sql: string) => {
      connection.exec(sql);
      return Promise.resolve(undefined);
    },
    connection: { driver: { options: { type: 'better-sqlite3' } } },
  } as unknown as QueryRunner;
  for (const Migration of migrations) {
    await new Migration().up(runner);
  }
}
