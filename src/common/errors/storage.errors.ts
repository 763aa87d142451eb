import { AppError } from './app.error';

/** How long a client is told to wait after a write failed for lack of space (seconds). */
export const STORAGE_FULL_RETRY_AFTER_SECONDS = 30;

/**
 * A write could not be made for lack of disk space (SQLITE_FULL, ENOSPC), or was refused because
 * the disk under DATA_DIR is below the shedding threshold. Nothing acknowledged is lost: the
 * write was rolled back whole. 503 with Retry-After, never a 500: it resolves itself once space
 * is freed.
 */
export class StorageFullError extends AppError {
  readonly code = 'STORAGE_FULL';
  readonly status = 503;
  readonly retryAfterSeconds: number;

  constructor(message = 'No space left for the database under DATA_DIR; retry later', details?: unknown, retryAfterSeconds = STORAGE_FULL_RETRY_AFTER_SECONDS) {
    super(message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** SQLite's, PostgreSQL's (53100 disk_full) and the OS's ways of saying the disk (or the user's quota) is full. */
const OUT_OF_SPACE_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);

/**
 * True for an error caused by a full disk: SQLite's SQLITE_FULL (better-sqlite3 reports the
 * extended code, which for this one is the primary code), ENOSPC / EDQUOT from the file system.
 */
export function isOutOfSpace(err: unknown): boolean {
  if (err instanceof StorageFullError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && OUT_OF_SPACE_CODES.has(code);
}
