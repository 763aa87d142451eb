import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from './migrations';
import { PostgresWriter, type PostgresWriterOptions } from './postgres-writer';
import type { DatabaseService } from './database.service';
import type { PgTestServer } from './pg.test-kit';
import { until } from '../testing/wait.test-kit';

/**
 * Several engine instances on one PostgreSQL database, as far as the write path goes: each its
 * own pool and PostgresWriter, and a `DatabaseService` stand-in whose `write` is that writer's
 * (the bodies under test only write; what they read they read inside their transaction).
 */
export interface PgInstance {
  pool: Pool;
  writer: PostgresWriter;
  db: DatabaseService;
}

export async function pgInstances(url: string, count: number, options: PostgresWriterOptions & { poolSize?: number } = {}): Promise<PgInstance[]> {
  return Array.from({ length: count }, () => {
    const pool = new Pool({ connectionString: url, max: options.poolSize ?? 4 });
    const writer = new PostgresWriter(pool, options);
    const db = { write: (body: never, o: never) => writer.write(body, o) } as unknown as DatabaseService;
    return { pool, writer, db };
  });
}

/** A fresh database migrated as an engine migrates it (every migration, PostgreSQL's dialect); its URL. */
export async function semanticsDatabase(server: PgTestServer, prefix: string): Promise<string> {
  const url = await server.createDatabase(prefix);
  const ds = new DataSource({ type: 'postgres', url, entities: [], migrations: MIGRATIONS, logging: false, poolSize: 1 });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
  } finally {
    await ds.destroy();
  }
  return url;
}

/** Resolves once some backend of the database waits for a lock (the statement under test blocked). */
export async function untilBlockedOnLock(pool: Pool): Promise<void> {
  await until(async () => {
    const { rows } = await pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    return Number(rows[0].n) > 0;
  }, 'a statement waiting for a lock');
}
