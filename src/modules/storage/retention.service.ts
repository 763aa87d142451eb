import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { detached, runInTask } from '../../common/concurrency';
import { DatabaseService } from '../../common/database/database.service';
import { createPruneContext, PruneStoppedError, RetentionRegistry } from '../../common/database/retention';
import { ServiceUnavailableError } from '../../common/errors/app.error';
import { PeriodicJobs } from '../../common/scheduling';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { type IncrementalVacuumReport, VacuumService } from './vacuum.service';

/** The prune job's name in the SchedulerRegistry (listed with the engine's other periodic jobs). */
export const PRUNE_JOB = 'storage.prune';
const RECENT_RUNS = 20;

export type PruneTrigger = 'schedule' | 'admin';

export interface TablePruneReport {
  table: string;
  deleted: number;
  batches: number;
  largest_batch: number;
  /** The longest delete transaction of the run (ms): what a request could have waited behind. */
  slowest_batch_ms: number;
  duration_ms: number;
  held?: string;
  error?: string;
}

export interface PruneRunReport {
  trigger: PruneTrigger;
  started_at: string;
  finished_at: string;
  /** Epoch ms of start and end, for tools lining the run up with their own timings. */
  started_ms: number;
  finished_ms: number;
  duration_ms: number;
  deleted: number;
  /** Stopped between batches by shutdown. */
  stopped: boolean;
  tables: TablePruneReport[];
  vacuum: IncrementalVacuumReport | null;
}

export interface TablePruneTotals {
  deleted_total: number;
  last_pruned_at: string | null;
  last_deleted: number;
  held: string | null;
  error: string | null;
}

export interface RetentionStatus {
  interval_ms: number;
  batch_rows: number;
  /** Rest between two batches (ms). */
  batch_pause_ms: number;
  running: boolean;
  runs: number;
  next_run_at: string | null;
  last_run: PruneRunReport | null;
  recent_runs: PruneRunReport[];
}

/**
 * The prune job: every RETENTION_PRUNE_INTERVAL (a named interval in the SchedulerRegistry) it
 * runs each registered retention policy — small delete transactions, RETENTION_BATCH_PAUSE_MS
 * apart, outside any request — then returns free pages to the file system. One run at a
 * time; shutdown stops a run between two batches and waits for it.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RetentionService.name);
  private running: Promise<PruneRunReport> | undefined;
  private stopping = false;
  private readonly recent: PruneRunReport[] = [];
  private readonly totals = new Map<string, TablePruneTotals>();
  private runs = 0;
  private nextRunAt: number | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DatabaseService,
    private readonly registry: RetentionRegistry,
    private readonly jobs: PeriodicJobs,
    private readonly vacuum: VacuumService,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.retentionPruneIntervalMs;
    this.jobs.register(PRUNE_JOB, {
      intervalMs: every,
      run: () => {
        this.nextRunAt = Date.now() + every;
        return this.run('schedule');
      },
      onError: (err) => this.logger.error({ err }, 'prune run failed'),
    });
    if (every > 0) this.nextRunAt = Date.now() + every;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.nextRunAt = null;
    await this.jobs.stop(PRUNE_JOB);
    await this.running?.catch(() => undefined);
  }

  /** Runs the policies now; a call while a run is going gets that run. */
  run(trigger: PruneTrigger): Promise<PruneRunReport> {
    if (this.running) return this.running;
    if (this.stopping) return Promise.reject(new ServiceUnavailableError('The engine is shutting down'));
    // Detached: started from a request, the run must not carry its held locks.
    const run = detached(() => runInTask(PRUNE_JOB, () => this.runOnce(trigger))).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  status(): RetentionStatus {
    return {
      interval_ms: this.config.retentionPruneIntervalMs,
      batch_rows: this.config.retentionBatchRows,
      batch_pause_ms: this.config.retentionBatchPauseMs,
      running: this.running !== undefined,
      runs: this.runs,
      next_run_at: this.nextRunAt === null ? null : new Date(this.nextRunAt).toISOString(),
      last_run: this.recent.at(-1) ?? null,
      recent_runs: [...this.recent],
    };
  }

  tableTotals(table: string): TablePruneTotals | null {
    return this.totals.get(table) ?? null;
  }

  private async runOnce(trigger: PruneTrigger): Promise<PruneRunReport> {
    const now = Date.now();
    const started = performance.now();
    const stopping = () => this.stopping;
    // SQLite: the pages a prune frees become the vacuum's reserve. PostgreSQL has no free list
    // of ours to read (its autovacuum reclaims space): none.
    const freelist = () => (this.db.dialect === 'sqlite' ? Number(this.db.connection.pragma('freelist_count', { simple: true })) : 0);
    const freeBefore = freelist();
    const tables: TablePruneReport[] = [];
    let stopped = false;
    for (const policy of this.registry.policies()) {
      if (!policy.prune) continue;
      const t: TablePruneReport = { table: policy.table, deleted: 0, batches: 0, largest_batch: 0, slowest_batch_ms: 0, duration_ms: 0 };
      const tableStarted = performance.now();
      const ctx = createPruneContext(this.db, {
        now,
        batchRows: this.config.retentionBatchRows,
        pauseMs: this.config.retentionBatchPauseMs,
        stopping,
        table: policy.table,
        onBatch: (rows, ms) => {
          t.batches += 1;
          t.deleted += rows;
          t.largest_batch = Math.max(t.largest_batch, rows);
          t.slowest_batch_ms = Math.max(t.slowest_batch_ms, Math.round(ms * 100) / 100);
        },
      });
      try {
        const outcome = await policy.prune(ctx);
        t.deleted = outcome.deleted;
        if (outcome.held) t.held = outcome.held;
      } catch (err) {
        if (err instanceof PruneStoppedError) stopped = true;
        else {
          t.error = err instanceof Error ? err.message : String(err);
          this.logger.warn({ err, table: policy.table }, 'pruning a table failed; the next run tries again');
        }
      }
      t.duration_ms = Math.round(performance.now() - tableStarted);
      tables.push(t);
      this.recordTotals(t, now);
      if (stopped) break;
    }
    let vacuum: IncrementalVacuumReport | null = null;
    if (!stopped) {
      try {
        // What this run freed is the room the next period's rows will take: keep that much.
        vacuum = await this.vacuum.afterPrune(Math.max(0, freelist() - freeBefore), stopping);
      } catch (err) {
        this.logger.warn({ err }, 'incremental vacuum failed; the next run tries again');
      }
    }
    const finished = Date.now();
    const report: PruneRunReport = {
      trigger,
      started_at: new Date(now).toISOString(),
      finished_at: new Date(finished).toISOString(),
      started_ms: now,
      finished_ms: finished,
      duration_ms: Math.round(performance.now() - started),
      deleted: tables.reduce((sum, t) => sum + t.deleted, 0),
      stopped,
      tables,
      vacuum,
    };
    this.runs += 1;
    this.recent.push(report);
    if (this.recent.length > RECENT_RUNS) this.recent.shift();
    const summary = { trigger, deleted: report.deleted, duration_ms: report.duration_ms, pages_returned: vacuum?.pages_returned ?? 0, stopped };
    if (report.deleted > 0 || (vacuum?.pages_returned ?? 0) > 0) this.logger.log(summary, 'prune run');
    else this.logger.debug(summary, 'prune run');
    return report;
  }

  private recordTotals(t: TablePruneReport, at: number): void {
    const totals = this.totals.get(t.table) ?? { deleted_total: 0, last_pruned_at: null, last_deleted: 0, held: null, error: null };
    totals.deleted_total += t.deleted;
    totals.last_pruned_at = new Date(at).toISOString();
    totals.last_deleted = t.deleted;
    totals.held = t.held ?? null;
    totals.error = t.error ?? null;
    this.totals.set(t.table, totals);
  }
}
