import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit, Optional } from '@nestjs/common';
import { StorageGuard } from '../../common/database/storage-guard';
import { PeriodicJobs } from '../../common/scheduling';
import { METRICS, type MetricsPort } from '../../common/ports/metrics-sources.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { RetentionService } from './retention.service';

/** The free-space reading's name in the SchedulerRegistry. */
export const DISK_CHECK_JOB = 'storage.disk-check';

const LEVELS = ['unknown', 'ok', 'low', 'critical'] as const;

/**
 * Reads the free space of DATA_DIR's file system every STORAGE_CHECK_INTERVAL_MS (one `statfs`,
 * off the event loop in libuv's pool) into the StorageGuard, and exposes the disk, the database's
 * size, shedding and pruning on `GET /metrics`.
 */
@Injectable()
export class StorageMonitor implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(StorageMonitor.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly guard: StorageGuard,
    private readonly jobs: PeriodicJobs,
    private readonly retention: RetentionService,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort | null = null,
  ) {}

  /** A first reading before anything is served: readiness and shedding know the disk from the start. */
  async onModuleInit(): Promise<void> {
    if (this.config.storageCheckIntervalMs > 0) await this.guard.refresh();
    this.registerMetrics();
  }

  onApplicationBootstrap(): void {
    this.jobs.register(DISK_CHECK_JOB, { intervalMs: this.config.storageCheckIntervalMs, run: () => this.guard.refresh() });
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.jobs.stop(DISK_CHECK_JOB);
  }

  private registerMetrics(): void {
    const m = this.metrics;
    if (!m) return;
    try {
      const g = this.guard;
      m.registerGauge('openkore_disk_free_bytes', 'Free bytes on the file system holding DATA_DIR (absent until read)', () => g.freeBytes);
      m.registerGauge('openkore_disk_total_bytes', 'Size of the file system holding DATA_DIR (absent until read)', () => g.status().total_bytes);
      m.registerGauge('openkore_storage_level', 'Disk level: 1 for the current one of unknown, ok, low (health degraded), critical (optional writes shed)', () =>
        LEVELS.map((level) => ({ labels: { level }, value: g.level === level ? 1 : 0 })), { labelNames: ['level'] });
      m.registerGauge('openkore_storage_writes_failing', '1 while writes fail for lack of space (503 STORAGE_FULL, readiness 503)', () => (g.writesFailing ? 1 : 0));
      m.registerCounter('openkore_storage_out_of_space_errors_total', 'Write transactions that failed for lack of space', () => g.status().out_of_space_errors);
      m.registerCounter('openkore_storage_shed_total', 'Optional writes dropped under low disk or while writes fail, by kind', () =>
        Object.entries(g.status().shed).map(([kind, value]) => ({ labels: { kind }, value })), { labelNames: ['kind'] });
      m.registerCounter('openkore_storage_deferred_flushes_total', 'Background flushes skipped while backing off from a full disk', () => g.status().deferred_flushes);
      m.registerGauge('openkore_db_file_bytes', 'Size of the database file', () => g.status().database_bytes);
      m.registerGauge('openkore_db_wal_bytes', 'Size of the database write-ahead log', () => g.status().wal_bytes);
      m.registerCounter('openkore_retention_deleted_rows_total', 'Rows deleted by the retention job, by table', () =>
        this.retentionTables().map(([table, t]) => ({ labels: { table }, value: t.deleted_total })), { labelNames: ['table'] });
      m.registerCounter('openkore_retention_runs_total', 'Prune runs', () => this.retention.status().runs);
      m.registerGauge('openkore_retention_last_run_seconds', 'Duration of the last prune run', () => {
        const last = this.retention.status().last_run;
        return last ? last.duration_ms / 1000 : null;
      });
      m.registerGauge('openkore_retention_last_run_timestamp_seconds', 'When the last prune run ended (Unix time)', () => {
        const last = this.retention.status().last_run;
        return last ? last.finished_ms / 1000 : null;
      });
    } catch (err) {
      this.logger.warn({ err }, 'storage metrics not registered');
    }
  }

  private retentionTables() {
    const tables = new Set(this.retention.status().recent_runs.flatMap((r) => r.tables.map((t) => t.table)));
    return [...tables].map((table) => [table, this.retention.tableTotals(table)!] as const).filter(([, t]) => t !== null);
  }
}
