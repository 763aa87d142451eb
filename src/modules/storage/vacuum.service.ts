import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { restFor } from '../../common/async/wait';
import { DatabaseService } from '../../common/database/database.service';
import { statfsReader } from '../../common/database/storage-guard';
import { AppError, BusyError } from '../../common/errors/app.error';
import { StorageFullError } from '../../common/errors/storage.errors';
import { resolveWorkerEntry } from '../../common/workers/worker-entry';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import type { DatabaseSizes, VacuumResult } from './storage-stats';
import { runStorageJob, type StorageJob, type StorageJobResult } from './storage.worker';

/** Pages returned to the file system per transaction: ~256 KiB moved, a few ms at most. */
export const VACUUM_STEP_PAGES = 64;
/** A full VACUUM copies the file through the WAL: it needs the file's size twice, and some room. */
const VACUUM_HEADROOM_BYTES = 64 * 1024 * 1024;
/** How long the one-time VACUUM waits for SQLite's write lock while other processes write. */
const VACUUM_BUSY_TIMEOUT_MS = 30_000;

/** SQLite's auto_vacuum mode, or `server`: PostgreSQL, whose own autovacuum reclaims space. */
export type AutoVacuumMode = DatabaseSizes['auto_vacuum'] | 'server';

/** `POST /api/v1/admin/storage/vacuum` on PostgreSQL: the server's autovacuum does it. */
export class VacuumNotApplicableError extends AppError {
  readonly code = 'UNPROCESSABLE';
  readonly status = 422;
}

export interface IncrementalVacuumReport {
  /** Free pages in the file before and after. */
  freelist_before: number;
  freelist_after: number;
  /** Free pages kept for the next period's writes (what the prune just freed; none when disk is low). */
  reserve_pages: number;
  pages_returned: number;
  steps: number;
  slowest_step_ms: number;
}

export interface VacuumState {
  auto_vacuum: AutoVacuumMode;
  /** Set when a database made before incremental auto-vacuum was too large to convert at boot. */
  conversion_pending: boolean;
  boot_conversion: VacuumResult | null;
  last_full_vacuum: VacuumResult | null;
  pages_returned_total: number;
  running: boolean;
}

const MODES: readonly AutoVacuumMode[] = ['none', 'full', 'incremental'];

/**
 * Gives freed space back to the file system.
 *
 * - New databases are created with `auto_vacuum = INCREMENTAL` (sqlite-pragmas.ts). A database made
 *   by an older version has it off, and only a full VACUUM switches it: done at boot when the file
 *   is at most STORAGE_BOOT_VACUUM_MAX_MB (and twice its size is free), before anything is served;
 *   a larger one is left as it is (logged) until an operator runs `POST /api/v1/admin/storage/vacuum`.
 * - After each prune, `PRAGMA incremental_vacuum` returns the free pages beyond a reserve, in
 *   steps of VACUUM_STEP_PAGES pages, one short transaction each, RETENTION_BATCH_PAUSE_MS
 *   apart (like the prune's batches). The reserve is what that prune freed: the next period's writes reuse it instead of
 *   growing the file again, so a steady farm neither grows nor churns its file; when the disk is
 *   low (or writes fail) there is no reserve.
 */
@Injectable()
export class VacuumService implements OnModuleInit {
  private readonly logger = new Logger(VacuumService.name);
  private conversionPending = false;
  private bootConversion: VacuumResult | null = null;
  private lastFullVacuum: VacuumResult | null = null;
  private pagesReturned = 0;
  private fullVacuum: Promise<VacuumResult> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DatabaseService,
  ) {}

  get mode(): AutoVacuumMode {
    if (this.db.dialect !== 'sqlite') return 'server';
    // A read first: the connection re-reads the header then, seeing a VACUUM another connection made.
    this.db.prepare('SELECT 1 AS x FROM sqlite_master LIMIT 1').get();
    return MODES[Number(this.db.connection.pragma('auto_vacuum', { simple: true }))] ?? 'none';
  }

  state(): VacuumState {
    return {
      auto_vacuum: this.mode,
      conversion_pending: this.conversionPending,
      boot_conversion: this.bootConversion,
      last_full_vacuum: this.lastFullVacuum,
      pages_returned_total: this.pagesReturned,
      running: this.fullVacuum !== undefined,
    };
  }

  /** Boot: convert a small database made before incremental auto-vacuum (nothing is served yet). */
  async onModuleInit(): Promise<void> {
    if (this.db.dialect !== 'sqlite') return;
    const connection = this.db.connection;
    if (connection.memory || this.mode === 'incremental') return;
    const size = databaseBytes(connection.name);
    if (size > this.config.storageBootVacuumMaxBytes) {
      this.conversionPending = true;
      this.logger.warn(
        { bytes: size, max_bytes: this.config.storageBootVacuumMaxBytes },
        'the database was made without incremental auto-vacuum and is too large to convert at boot (STORAGE_BOOT_VACUUM_MAX_MB): pruned space stays in the file until POST /api/v1/admin/storage/vacuum',
      );
      return;
    }
    const free = await statfsReader(this.config.dataDir).catch(() => undefined);
    if (free && free.freeBytes < 2 * size + VACUUM_HEADROOM_BYTES) {
      this.conversionPending = true;
      this.logger.warn({ bytes: size, free_bytes: free.freeBytes }, 'not enough free space to convert the database to incremental auto-vacuum at boot; retried at the next boot');
      return;
    }
    try {
      // Synchronous on purpose: nothing runs on this connection before the app is bootstrapped.
      this.bootConversion = runStorageJobInline({ kind: 'storage-vacuum', file: connection.name, busyTimeoutMs: VACUUM_BUSY_TIMEOUT_MS }) as VacuumResult;
      this.logger.log(this.bootConversion, 'database converted to incremental auto-vacuum (one VACUUM at boot)');
    } catch (err) {
      this.conversionPending = true;
      this.logger.warn({ err }, 'could not convert the database to incremental auto-vacuum at boot; retried at the next boot');
    }
  }

  /**
   * After a prune: returns the free pages beyond `reservePages` (none kept when the disk is low
   * or writes fail), step by step. `stopping` ends it between steps (shutdown).
   */
  async afterPrune(reservePages: number, stopping: () => boolean): Promise<IncrementalVacuumReport> {
    // PostgreSQL: deleted rows are reclaimed by the server's autovacuum, nothing to do here.
    if (this.db.dialect !== 'sqlite') return { freelist_before: 0, freelist_after: 0, reserve_pages: 0, pages_returned: 0, steps: 0, slowest_step_ms: 0 };
    const freelist = () => Number(this.db.connection.pragma('freelist_count', { simple: true }));
    const before = freelist();
    const guard = this.db.storage;
    const reserve = guard.level === 'low' || guard.level === 'critical' || guard.writesFailing ? 0 : Math.max(0, reservePages);
    const report: IncrementalVacuumReport = { freelist_before: before, freelist_after: before, reserve_pages: reserve, pages_returned: 0, steps: 0, slowest_step_ms: 0 };
    if (this.mode !== 'incremental') return report;
    let left = before - reserve;
    while (left > 0 && !stopping()) {
      await restFor(this.config.retentionBatchPauseMs);
      if (stopping()) break;
      const pages = Math.min(VACUUM_STEP_PAGES, left);
      const started = performance.now();
      const had = freelist();
      await this.db.write(() => this.db.connection.exec(`PRAGMA incremental_vacuum(${pages})`), { label: 'storage.incrementalVacuum' });
      const returned = had - freelist();
      report.steps += 1;
      report.slowest_step_ms = Math.max(report.slowest_step_ms, Math.round((performance.now() - started) * 100) / 100);
      report.pages_returned += returned;
      this.pagesReturned += returned;
      // Someone else used the free pages meanwhile (or another process vacuumed): done.
      if (returned <= 0) break;
      left -= returned;
    }
    report.freelist_after = freelist();
    return report;
  }

  /**
   * `POST /api/v1/admin/storage/vacuum`: a full VACUUM (switching to incremental auto-vacuum) on a
   * worker thread. The engine keeps answering meanwhile, but its writes wait for SQLite's write
   * lock (503 after the busy bound): a maintenance operation, for a quiet moment.
   */
  vacuumNow(): Promise<VacuumResult> {
    if (this.db.dialect !== 'sqlite') {
      throw new VacuumNotApplicableError('VACUUM is for the embedded SQLite database; on PostgreSQL the server\'s autovacuum reclaims space', { dialect: this.db.dialect });
    }
    if (this.fullVacuum) throw new BusyError('A VACUUM is already running');
    const file = this.db.connection.name;
    const size = databaseBytes(file);
    const free = this.db.storage.freeBytes;
    if (free !== null && free < 2 * size + VACUUM_HEADROOM_BYTES) {
      throw new StorageFullError('VACUUM needs about twice the database size free under DATA_DIR', { database_bytes: size, free_bytes: free });
    }
    const run = runStorageJobOffLoop<VacuumResult>({ kind: 'storage-vacuum', file, busyTimeoutMs: VACUUM_BUSY_TIMEOUT_MS })
      .then((result) => {
        this.lastFullVacuum = result;
        this.conversionPending = this.mode !== 'incremental';
        this.logger.log(result, 'VACUUM finished');
        return result;
      })
      .finally(() => (this.fullVacuum = undefined));
    this.fullVacuum = run;
    return run;
  }
}

function databaseBytes(file: string): number {
  let total = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      total += fs.statSync(f).size;
    } catch {
      /* absent */
    }
  }
  return total;
}

class StorageJobError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

function unwrap<T>(result: StorageJobResult): T {
  if (result.ok) return result.value as T;
  throw new StorageJobError(result.message, result.code);
}

function runStorageJobInline(job: StorageJob): unknown {
  return unwrap(runStorageJob(job));
}

/** On a worker thread when the engine is built; in-line otherwise (unit specs on the sources). */
export function runStorageJobOffLoop<T>(job: StorageJob): Promise<T> {
  const entry = resolveWorkerEntry(__dirname, 'src/modules/storage', 'storage.worker.js');
  if (!entry) return Promise.resolve().then(() => unwrap<T>(runStorageJob(job)));
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(entry, { workerData: job });
    let settled = false;
    worker.once('message', (result: StorageJobResult) => {
      settled = true;
      try {
        resolve(unwrap<T>(result));
      } catch (err) {
        reject(err);
      }
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`storage worker exited (${code}) without a result`));
    });
  });
}
