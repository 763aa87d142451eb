import { DataSource } from 'typeorm';
import { describePostgres, type PgTestServer, startPostgres } from '../pg.test-kit';
import { MIGRATIONS } from './index';

/** What a schema is made of, as both databases can say it: tables, columns with nullability, indexes with their columns. */
interface Schema {
  /** `table.column` → nullable. */
  columns: Record<string, boolean>;
  /** `index` → `table(col, …)` with `unique` marked. */
  indexes: Record<string, string>;
}

/** TypeORM's own bookkeeping table, not made by the engine's DDL. */
const OWN = 'migrations';

async function sqliteSchema(ds: DataSource): Promise<Schema> {
  const tables = (await ds.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?`, [OWN])) as Array<{ name: string }>;
  const columns: Record<string, boolean> = {};
  const indexes: Record<string, string> = {};
  for (const { name } of tables) {
    for (const c of (await ds.query(`SELECT name, "notnull" AS nn, pk FROM pragma_table_info(?)`, [name])) as Array<{ name: string; nn: number; pk: number }>) {
      // A primary key column never holds NULL on either side (SQLite's INTEGER PRIMARY KEY is the rowid).
      columns[`${name}.${c.name}`] = !(c.nn || c.pk);
    }
    for (const i of (await ds.query(`SELECT name, "unique" AS u, origin FROM pragma_index_list(?)`, [name])) as Array<{ name: string; u: number; origin: string }>) {
      // Indexes the DDL created by name (not the implicit ones of a PRIMARY KEY / UNIQUE clause).
      if (i.origin !== 'c') continue;
      const cols = ((await ds.query(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`, [i.name])) as Array<{ name: string }>).map((r) => r.name);
      indexes[i.name] = `${i.u ? 'unique ' : ''}${name}(${cols.join(', ')})`;
    }
  }
  return { columns, indexes };
}

async function postgresSchema(ds: DataSource): Promise<Schema> {
  const columns: Record<string, boolean> = {};
  const indexes: Record<string, string> = {};
  const cols = (await ds.query(
    `SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> $1`,
    [OWN],
  )) as Array<{ table_name: string; column_name: string; is_nullable: string }>;
  for (const c of cols) columns[`${c.table_name}.${c.column_name}`] = c.is_nullable === 'YES';
  const idx = (await ds.query(
    `SELECT i.relname AS name, t.relname AS "table", x.indisunique AS u,
            (SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS cols
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace
     WHERE s.nspname = current_schema() AND NOT x.indisprimary AND t.relname <> $1`,
    [OWN],
  )) as Array<{ name: string; table: string; u: boolean; cols: string }>;
  for (const i of idx) indexes[i.name] = `${i.u ? 'unique ' : ''}${i.table}(${i.cols})`;
  return { columns, indexes };
}

async function tablesLeft(ds: DataSource, postgres: boolean): Promise<string[]> {
  const rows = (await ds.query(
    postgres
      ? `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> $1`
      : `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?`,
    [OWN],
  )) as Array<{ name: string }>;
  return rows.map((r) => r.name).sort();
}

async function migrateUp(ds: DataSource): Promise<void> {
  await ds.initialize();
  const ran = await ds.runMigrations({ transaction: 'each' });
  expect(ran).toHaveLength(MIGRATIONS.length);
}

async function migrateAllDown(ds: DataSource): Promise<void> {
  for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
}

/**
 * The one set of migrations on both databases: every migration up on a fresh SQLite and a fresh
 * PostgreSQL gives the same tables, columns (with nullability) and indexes (with their columns);
 * every down migration runs on both back to an empty schema. A dialect branch of a migration
 * that drifts (a column, a NOT NULL, an index only one side has) fails here.
 */
describePostgres('migrations on SQLite and PostgreSQL', () => {
  let server: PgTestServer;
  let sqlite: DataSource;
  let postgres: DataSource;

  beforeAll(async () => {
    server = await startPostgres();
    sqlite = new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [], migrations: MIGRATIONS, logging: false });
    postgres = new DataSource({ type: 'postgres', url: await server.createDatabase('migrations'), entities: [], migrations: MIGRATIONS, logging: false, poolSize: 2 });
    await migrateUp(sqlite);
    await migrateUp(postgres);
  }, 120_000);

  afterAll(async () => {
    try {
      if (sqlite?.isInitialized) await sqlite.destroy();
      if (postgres?.isInitialized) await postgres.destroy();
    } finally {
      await server?.stop();
    }
  }, 60_000);

  it('gives the same tables, columns, nullability and indexes on both', async () => {
    const a = await sqliteSchema(sqlite);
    const b = await postgresSchema(postgres);
    expect(Object.keys(a.columns).length).toBeGreaterThan(50);
    expect(b.columns).toEqual(a.columns);
    expect(b.indexes).toEqual(a.indexes);
  });

  it('uses the dialect types that keep SQLite semantics on PostgreSQL: identity ids, 8-byte floats, bytes', async () => {
    const types = Object.fromEntries(
      ((await postgres.query(`SELECT table_name || '.' || column_name AS c, data_type AS t, is_identity AS i FROM information_schema.columns WHERE table_schema = current_schema()`)) as Array<{ c: string; t: string; i: string }>).map(
        (r) => [r.c, `${r.t}${r.i === 'YES' ? ' identity' : ''}`],
      ),
    );
    expect(types).toMatchObject({
      'decision_log.id': 'bigint identity',
      'decision_log.processing_time_ms': 'double precision',
      'memories.embedding': 'bytea',
      'memories.importance': 'double precision',
      'metrics.p99': 'double precision',
      'interaction_history.id': 'bigint identity',
      'player_reputation.is_friend': 'boolean',
    });
  });

  it('runs every down migration on both, back to an empty schema', async () => {
    await migrateAllDown(sqlite);
    await migrateAllDown(postgres);
    expect(await tablesLeft(sqlite, false)).toEqual([]);
    expect(await tablesLeft(postgres, true)).toEqual([]);
    // And up again: the downs left nothing behind that the ups trip over.
    expect(await sqlite.runMigrations({ transaction: 'each' })).toHaveLength(MIGRATIONS.length);
    expect(await postgres.runMigrations({ transaction: 'each' })).toHaveLength(MIGRATIONS.length);
  }, 60_000);
});
