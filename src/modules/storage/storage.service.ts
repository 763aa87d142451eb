import { Inject, Injectable } from '@nestjs/common';
import { type Dialect, DatabaseService } from '../../common/database/database.service';
import { RetentionRegistry } from '../../common/database/retention';
import { type StorageStatus } from '../../common/database/storage-guard';
import { TABLE_WRITE_ORDER } from '../../common/database/table-order';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { type RetentionStatus, RetentionService, type TablePruneTotals } from './retention.service';
import type { DatabaseSizes, TableSize } from './storage-stats';
import { runStorageJobOffLoop, type VacuumState, VacuumService } from './vacuum.service';

export interface TableStorage {
  table: string;
  rows: number;
  /** Bytes of the table and its indexes in the file. */
  bytes: number;
  index_bytes: number;
  /** Average bytes per row (table + indexes), null when empty. */
  bytes_per_row: number | null;
  oldest_row_at: string | null;
  retention: string;
  last_prune: TablePruneTotals | null;
}

/** The SQLite file's sizes (DATA_DIR). */
export interface SqliteDatabaseReport {
  dialect: 'sqlite';
  path: string;
  file_bytes: number | null;
  wal_bytes: number | null;
  page_size: number;
  page_count: number;
  freelist_pages: number;
  /** Free pages inside the file: reused by new rows before the file grows. */
  free_bytes_in_file: number;
  auto_vacuum: DatabaseSizes['auto_vacuum'];
  /** How long reading the sizes took (on a worker thread). */
  sizes_took_ms: number;
}

/** The PostgreSQL database's sizes, as the server reports them. */
export interface PostgresDatabaseReport {
  dialect: 'postgres';
  /** current_database(). */
  name: string;
  server_version: string;
  /** pg_database_size(): every table, index and TOAST of the database on the server's disk. */
  database_bytes: number;
  sizes_took_ms: number;
}

export interface StorageReport {
  /** Which database the engine runs on: the embedded SQLite file, or PostgreSQL (DATABASE_URL). */
  dialect: Dialect;
  database: SqliteDatabaseReport | PostgresDatabaseReport;
  disk: StorageStatus;
  tables: TableStorage[];
  prune: RetentionStatus;
  vacuum: VacuumState;
}

/** `GET /api/v1/admin/storage`: rows and bytes per table, oldest row, retention and last prune, disk. */
@Injectable()
export class StorageService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DatabaseService,
    private readonly registry: RetentionRegistry,
    private readonly retention: RetentionService,
    private readonly vacuum: VacuumService,
  ) {}

  async report(): Promise<StorageReport> {
    const sizes = this.db.dialect === 'postgres' ? await this.postgresSizes() : await this.sqliteSizes();
    const disk = this.db.storage.status();
    const read = { get: <T>(sql: string, params?: unknown[]) => this.db.get<T>(sql, params ?? []) };
    const order = new Map<string, number>(TABLE_WRITE_ORDER.map((t, i) => [t, i]));
    const known = sizes.tables.filter((t) => order.has(t.table)).sort((a, b) => order.get(a.table)! - order.get(b.table)!);
    const tables: TableStorage[] = [];
    for (const t of known) {
      const policy = this.registry.get(t.table as (typeof TABLE_WRITE_ORDER)[number]);
      const oldest = (await policy?.oldestRowAt?.(read)) ?? null;
      tables.push({
        table: t.table,
        rows: t.rows,
        bytes: t.bytes,
        index_bytes: t.index_bytes,
        bytes_per_row: t.rows === 0 ? null : Math.round(t.bytes / t.rows),
        oldest_row_at: oldest === null ? null : new Date(oldest).toISOString(),
        retention: policy?.describe() ?? 'kept (no retention)',
        last_prune: this.retention.tableTotals(t.table),
      });
    }
    return {
      dialect: this.db.dialect,
      database: sizes.database,
      disk,
      tables,
      prune: this.retention.status(),
      vacuum: this.vacuum.state(),
    };
  }

  /** Counting rows and reading every page is proportional to the file: a worker thread does it. */
  private async sqliteSizes(): Promise<{ database: SqliteDatabaseReport; tables: TableSize[] }> {
    const sizes = await runStorageJobOffLoop<DatabaseSizes>({ kind: 'storage-sizes', file: this.db.connection.name });
    const disk = this.db.storage.status();
    return {
      database: {
        dialect: 'sqlite',
        path: this.config.databasePath,
        file_bytes: disk.database_bytes,
        wal_bytes: disk.wal_bytes,
        page_size: sizes.page_size,
        page_count: sizes.page_count,
        freelist_pages: sizes.freelist_pages,
        free_bytes_in_file: sizes.freelist_pages * sizes.page_size,
        auto_vacuum: sizes.auto_vacuum,
        sizes_took_ms: sizes.took_ms,
      },
      tables: sizes.tables,
    };
  }

  /**
   * The server's own accounting: pg_total_relation_size (table, indexes, TOAST) and
   * pg_indexes_size per table of the schema in use, and an exact COUNT(*) of each (the
   * statistics' reltuples is an estimate, -1 before the first ANALYZE).
   */
  private async postgresSizes(): Promise<{ database: PostgresDatabaseReport; tables: TableSize[] }> {
    const started = performance.now();
    const info = (await this.db.get<{ name: string; version: string; bytes: number }>(
      'SELECT current_database() AS name, current_setting(\'server_version\') AS version, pg_database_size(current_database()) AS bytes',
    ))!;
    const rels = await this.db.all<{ name: string; bytes: number; index_bytes: number }>(
      `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes, pg_indexes_size(c.oid) AS index_bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()`,
    );
    const tables: TableSize[] = [];
    for (const r of rels) {
      // Names come from the catalog, quoted as identifiers.
      const n = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM "${r.name.replace(/"/g, '""')}"`);
      tables.push({ table: r.name, rows: Number(n?.n ?? 0), bytes: Number(r.bytes), index_bytes: Number(r.index_bytes) });
    }
    return {
      database: {
        dialect: 'postgres',
        name: info.name,
        server_version: info.version,
        database_bytes: Number(info.bytes),
        sizes_took_ms: Math.round((performance.now() - started) * 100) / 100,
      },
      tables,
    };
  }
}
