import { Inject, Injectable } from '@nestjs/common';
import { DatabaseService } from '../../common/database/database.service';
import { RetentionRegistry } from '../../common/database/retention';
import { type StorageStatus } from '../../common/database/storage-guard';
import { TABLE_WRITE_ORDER } from '../../common/database/table-order';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { type RetentionStatus, RetentionService, type TablePruneTotals } from './retention.service';
import type { DatabaseSizes } from './storage-stats';
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

export interface StorageReport {
  database: {
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
  };
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
    // Counting rows and reading every page is proportional to the file: a worker thread does it.
    const sizes = await runStorageJobOffLoop<DatabaseSizes>({ kind: 'storage-sizes', file: this.db.connection.name });
    const disk = this.db.storage.status();
    const read = { get: <T>(sql: string, params?: unknown[]) => this.db.get<T>(sql, params ?? []) };
    const order = new Map<string, number>(TABLE_WRITE_ORDER.map((t, i) => [t, i]));
    const tables = sizes.tables
      .filter((t) => order.has(t.table))
      .sort((a, b) => order.get(a.table)! - order.get(b.table)!)
      .map((t): TableStorage => {
        const policy = this.registry.get(t.table as (typeof TABLE_WRITE_ORDER)[number]);
        const oldest = policy?.oldestRowAt?.(read) ?? null;
        return {
          table: t.table,
          rows: t.rows,
          bytes: t.bytes,
          index_bytes: t.index_bytes,
          bytes_per_row: t.rows === 0 ? null : Math.round(t.bytes / t.rows),
          oldest_row_at: oldest === null ? null : new Date(oldest).toISOString(),
          retention: policy?.describe() ?? 'kept (no retention)',
          last_prune: this.retention.tableTotals(t.table),
        };
      });
    return {
      database: {
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
      disk,
      tables,
      prune: this.retention.status(),
      vacuum: this.vacuum.state(),
    };
  }
}
