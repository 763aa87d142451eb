import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { SerialTask } from '../async/serial-task';
import { STORAGE_FULL_RETRY_AFTER_SECONDS } from '../errors/storage.errors';

/**
 * Where the database's disk stands: `unknown` until free space was read, `low` under the
 * degraded threshold, `critical` under the shedding threshold.
 */
export type DiskLevel = 'unknown' | 'ok' | 'low' | 'critical';

/** Writes the engine may drop when space runs out: nobody was promised them. */
export type OptionalWrite = 'decision_log' | 'training_data';
export const OPTIONAL_WRITES: readonly OptionalWrite[] = ['decision_log', 'training_data'];

export interface FreeSpace {
  /** Bytes an unprivileged writer may still use (statfs `bavail`). */
  freeBytes: number;
  totalBytes: number;
}

/** Reads the free space of the file system holding `dir`; tests substitute their own. */
export type FreeSpaceReader = (dir: string) => Promise<FreeSpace>;

export const statfsReader: FreeSpaceReader = async (dir) => {
  const s = await statfs(dir);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
};

export interface StorageGuardOptions {
  /** DATA_DIR; without it free space is never read (level `unknown`). */
  dir?: string;
  /** The database file, whose size (and its WAL's) the status reports. */
  databaseFile?: string;
  /** Under this many free bytes the disk is `low`: health and readiness say degraded (0: never). */
  lowBytes: number;
  /** Under this many free bytes it is `critical`: optional writes are shed (0: never). */
  criticalBytes: number;
  reader?: FreeSpaceReader;
  now?: () => number;
  /** First pause of background flushes after a write failed for lack of space; doubled per failed retry. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Free space that must appear (beyond what there was at the failure) to retry at once. */
  freedMarginBytes?: number;
}

export const STORAGE_GUARD_OPTIONS = Symbol('STORAGE_GUARD_OPTIONS');

export interface StorageStatus {
  data_dir: string | null;
  /** Size of the database file and of its write-ahead log (null when unknown). */
  database_bytes: number | null;
  wal_bytes: number | null;
  level: DiskLevel;
  free_bytes: number | null;
  total_bytes: number | null;
  free_checked_at: string | null;
  low_threshold_bytes: number;
  critical_threshold_bytes: number;
  /** A write failed for lack of space and none has succeeded since. */
  writes_failing: boolean;
  writes_failing_since: string | null;
  last_out_of_space_error: string | null;
  out_of_space_errors: number;
  /** Optional writes (decision log, training samples) are being dropped. */
  shedding: boolean;
  shed: Record<OptionalWrite, number>;
  /** While writes fail: background flushes wait until then (one tries, the others keep waiting). */
  background_retry_at: string | null;
  background_backoff_ms: number;
  /** Background flushes skipped while backing off. */
  deferred_flushes: number;
}

export interface StorageHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  detail: string;
}

const MB = 1024 * 1024;
const DEFAULT_BACKOFF_BASE_MS = 1_000;
const DEFAULT_BACKOFF_MAX_MS = 30_000;
const DEFAULT_FREED_MARGIN = 4 * MB;

/**
 * The engine's view of the disk under DATA_DIR and of writes failing for lack of space. It holds
 * state only (the storage module polls free space with `refresh()`; the database helper reports
 * every out-of-space failure and every commit), and answers three questions cheaply:
 *
 * - `shed(kind)`: should this optional write be dropped? Yes under the critical threshold or
 *   while writes fail; each drop is counted, and the start and end of shedding logged once.
 * - `deferBackground()`: should a background flush skip this turn? While writes fail, flushes
 *   back off exponentially (1 s doubling to 30 s) instead of failing every tick; one flush past
 *   the pause is the probe. Space freed on the disk (seen by `refresh()`) ends the pause at once.
 * - `health()`: degraded under the low threshold or while shedding, unhealthy while writes fail.
 *
 * A commit ends the failing state when it shows room was found: it took pages the database did
 * not use before, or free space rose since the failure (over the least free space read while
 * writes failed). One that only rewrote rows in place (a
 * heartbeat, a lease renewal) or deleted some (a prune) proves nothing, and a periodic one would
 * otherwise flip readiness back every few seconds on a full disk. Everything resumes by itself
 * once space is freed.
 */
@Injectable()
export class StorageGuard implements OnModuleDestroy {
  private readonly logger = new Logger(StorageGuard.name);
  private readonly options: Required<Omit<StorageGuardOptions, 'dir' | 'databaseFile'>> & { dir?: string; databaseFile?: string };
  private readonly now: () => number;
  private reader: FreeSpaceReader;
  private free: FreeSpace | undefined;
  private checkedAt: number | null = null;
  /** One read at a time; a call while one is under way is answered by the next read, not that one. */
  private readonly reading = new SerialTask(() => this.readFreeSpace());
  private failingSince: number | null = null;
  /**
   * While writes fail: the free space a reading must rise over (by the margin) to count as space
   * freed. The least read since the failure, or since space was last seen freed.
   */
  private freeMark: number | null = null;
  /** Free space rose since the last failure: the next commit ends the failing state. */
  private spaceFreed = false;
  private lastError: string | null = null;
  private outOfSpaceErrors = 0;
  private backoffMs = 0;
  private retryAt = 0;
  private deferred = 0;
  private readonly shedCounts: Record<OptionalWrite, number> = { decision_log: 0, training_data: 0 };
  private sheddingSince: number | null = null;
  private loggedLevel: DiskLevel = 'unknown';
  private draining = false;

  constructor(@Optional() @Inject(STORAGE_GUARD_OPTIONS) options: StorageGuardOptions | null = null) {
    const o = options ?? { lowBytes: 0, criticalBytes: 0 };
    this.now = o.now ?? Date.now;
    this.reader = o.reader ?? statfsReader;
    this.options = {
      dir: o.dir,
      databaseFile: o.databaseFile,
      lowBytes: o.lowBytes,
      criticalBytes: o.criticalBytes,
      reader: this.reader,
      now: this.now,
      backoffBaseMs: o.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      backoffMaxMs: o.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
      freedMarginBytes: o.freedMarginBytes ?? DEFAULT_FREED_MARGIN,
    };
  }

  /** Replaces the free-space reader (tests simulate a filling disk with it). */
  useReader(reader: FreeSpaceReader): void {
    this.reader = reader;
  }

  get level(): DiskLevel {
    if (!this.free) return 'unknown';
    if (this.free.freeBytes < this.options.criticalBytes) return 'critical';
    if (this.free.freeBytes < this.options.lowBytes) return 'low';
    return 'ok';
  }

  /** A write failed for lack of space and none has succeeded since. */
  get writesFailing(): boolean {
    return this.failingSince !== null;
  }

  get freeBytes(): number | null {
    return this.free?.freeBytes ?? null;
  }

  /** Seconds a client should wait before retrying a refused write: the pause while writes fail, else a while. */
  get retryAfterSeconds(): number {
    if (this.failingSince === null) return STORAGE_FULL_RETRY_AFTER_SECONDS;
    return Math.max(1, Math.ceil(this.backoffMs / 1000));
  }

  /**
   * Reads the free space now. One read at a time: asked while one is under way, it is answered by
   * the read after it (shared by every call meanwhile), never older than the call. A failed read
   * keeps the last value.
   */
  refresh(): Promise<void> {
    return this.options.dir === undefined ? Promise.resolve() : this.reading.run();
  }

  private async readFreeSpace(): Promise<void> {
    const dir = this.options.dir!;
    try {
      this.onFreeSpace(await this.reader(dir));
    } catch (err) {
      this.logger.warn({ err, dir }, 'could not read the free space of DATA_DIR');
    }
  }

  /** The database helper reports every write that failed for lack of space. */
  noteOutOfSpace(err: unknown, label?: string): void {
    const now = this.now();
    this.outOfSpaceErrors += 1;
    this.lastError = err instanceof Error ? err.message : String(err);
    // Whatever was freed is used up again.
    this.spaceFreed = false;
    if (this.failingSince === null) {
      this.failingSince = now;
      this.freeMark = this.free?.freeBytes ?? null;
      this.backoffMs = this.options.backoffBaseMs;
      this.retryAt = now + this.backoffMs;
      this.logger.error(
        { label, err, free_bytes: this.free?.freeBytes ?? null, dir: this.options.dir },
        'writes fail for lack of disk space under DATA_DIR: answering 503 STORAGE_FULL, shedding the decision log and training samples, background flushes back off',
      );
      this.updateShedding();
      // The last reading may be from before the disk filled up: read the full disk now, so the
      // space freed later is measured from it, also when that comes within one check interval.
      void this.refresh();
    } else if (now >= this.retryAt) {
      // A probe past the pause failed: wait twice as long (failures inside the pause change nothing).
      this.backoffMs = Math.min(this.options.backoffMaxMs, this.backoffMs * 2);
      this.retryAt = now + this.backoffMs;
    }
  }

  /**
   * A commit while writes were failing: it ends the failing state if it took pages the database
   * did not use before (`tookPages`) or if free space rose since the failure.
   */
  noteWriteOk(tookPages: boolean): void {
    if (this.failingSince === null || !(tookPages || this.spaceFreed)) return;
    this.spaceFreed = false;
    const failedForMs = this.now() - this.failingSince;
    this.failingSince = null;
    this.freeMark = null;
    this.backoffMs = 0;
    this.retryAt = 0;
    this.logger.log({ failed_for_ms: failedForMs, out_of_space_errors: this.outOfSpaceErrors }, 'database writes succeed again');
    this.updateShedding();
  }

  /**
   * Background flushes ask before writing: true means skip this turn (writes are failing and the
   * pause is not over). The first call past the pause gets false: that flush is the probe.
   */
  deferBackground(): boolean {
    if (this.failingSince === null || this.draining || this.now() >= this.retryAt) return false;
    this.deferred += 1;
    return true;
  }

  /**
   * Shutdown: every module's destroy hook runs before any final flush (beforeApplicationShutdown),
   * so from here each flush gets its one try instead of being deferred.
   */
  onModuleDestroy(): void {
    this.draining = true;
  }

  /** Optional writes ask before buffering: true means drop it (counted). */
  shed(kind: OptionalWrite): boolean {
    if (!this.shedding) return false;
    this.shedCounts[kind] += 1;
    return true;
  }

  get shedding(): boolean {
    return this.failingSince !== null || this.level === 'critical';
  }

  health(): StorageHealth {
    // No directory to watch: the database is on a PostgreSQL server (DATABASE_URL), which says
    // itself when its disk is full (53100, counted above as writes failing).
    const free = this.free ? `${formatMb(this.free.freeBytes)} free` : this.options.dir === undefined ? 'free space not watched: the database is not under DATA_DIR' : 'free space not read yet';
    if (this.failingSince !== null) {
      return { status: 'unhealthy', detail: `writes fail for lack of space under DATA_DIR since ${new Date(this.failingSince).toISOString()} (${free})` };
    }
    const level = this.level;
    if (level === 'critical') {
      return { status: 'degraded', detail: `${free} under DATA_DIR, below STORAGE_CRITICAL_DISK_MB: dropping decision log rows and training samples` };
    }
    if (level === 'low') return { status: 'degraded', detail: `${free} under DATA_DIR, below STORAGE_LOW_DISK_MB` };
    return { status: 'healthy', detail: free };
  }

  status(): StorageStatus {
    const file = this.options.databaseFile;
    return {
      data_dir: this.options.dir ?? null,
      database_bytes: file === undefined ? null : fileSize(file),
      wal_bytes: file === undefined ? null : fileSize(`${file}-wal`),
      level: this.level,
      free_bytes: this.free?.freeBytes ?? null,
      total_bytes: this.free?.totalBytes ?? null,
      free_checked_at: this.checkedAt === null ? null : new Date(this.checkedAt).toISOString(),
      low_threshold_bytes: this.options.lowBytes,
      critical_threshold_bytes: this.options.criticalBytes,
      writes_failing: this.failingSince !== null,
      writes_failing_since: this.failingSince === null ? null : new Date(this.failingSince).toISOString(),
      last_out_of_space_error: this.lastError,
      out_of_space_errors: this.outOfSpaceErrors,
      shedding: this.shedding,
      shed: { ...this.shedCounts },
      background_retry_at: this.failingSince === null ? null : new Date(this.retryAt).toISOString(),
      background_backoff_ms: this.backoffMs,
      deferred_flushes: this.deferred,
    };
  }

  private onFreeSpace(free: FreeSpace): void {
    this.free = free;
    this.checkedAt = this.now();
    const level = this.level;
    if (level !== this.loggedLevel) {
      const fields = { free_bytes: free.freeBytes, dir: this.options.dir, low_bytes: this.options.lowBytes, critical_bytes: this.options.criticalBytes };
      if (level === 'ok') this.logger.log(fields, 'free space under DATA_DIR is above the thresholds again');
      else if (level === 'low') this.logger.warn(fields, 'free space under DATA_DIR is low (STORAGE_LOW_DISK_MB): health is degraded');
      else if (level === 'critical') this.logger.error(fields, 'free space under DATA_DIR is critical (STORAGE_CRITICAL_DISK_MB): dropping the decision log and training samples');
      this.loggedLevel = level;
    }
    if (this.failingSince !== null) {
      const mark = this.freeMark;
      if (mark === null || free.freeBytes >= mark + this.options.freedMarginBytes) {
        // Space was freed since writes started failing: retry now rather than at the end of the
        // pause. A first reading only sets the mark.
        this.spaceFreed = mark !== null;
        this.retryAt = this.now();
        this.freeMark = free.freeBytes;
      } else if (free.freeBytes < mark) {
        // The least seen: a disk that filled up between two readings failed with the reading
        // from before it filled, which freeing the space again would never rise above.
        this.freeMark = free.freeBytes;
      }
    }
    this.updateShedding();
  }

  /** Logs once when shedding starts and once when it ends (with what was dropped meanwhile). */
  private updateShedding(): void {
    const shedding = this.shedding;
    if (shedding && this.sheddingSince === null) {
      this.sheddingSince = this.now();
      this.logger.warn({ level: this.level, writes_failing: this.failingSince !== null }, 'shedding optional writes: decision log rows and training samples are dropped (counted) until space is back');
    } else if (!shedding && this.sheddingSince !== null) {
      this.logger.log({ shed: { ...this.shedCounts }, for_ms: this.now() - this.sheddingSince }, 'optional writes resume');
      this.sheddingSince = null;
    }
  }
}

function formatMb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function fileSize(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}
