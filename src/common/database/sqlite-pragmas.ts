import type { Database } from 'better-sqlite3';

/** docs/architecture.md §5.1: checkpoint every 1000 WAL pages. The engine moves this to a worker (WalCheckpointer). */
export const SPEC_WAL_AUTOCHECKPOINT = 1000;

/** docs/architecture.md §5.1 pragmas, applied to every connection the engine opens. */
export const SQLITE_PRAGMAS: ReadonlyArray<readonly [string, string | number]> = [
  ['journal_mode', 'WAL'],
  ['busy_timeout', 5000],
  ['synchronous', 'NORMAL'],
  ['cache_size', -64000],
  ['wal_autocheckpoint', SPEC_WAL_AUTOCHECKPOINT],
  ['temp_store', 'MEMORY'],
  ['foreign_keys', 'ON'],
];

/**
 * Freed pages go back to the file system on request (`PRAGMA incremental_vacuum`, run in slices
 * after each prune) instead of staying in the file forever. It takes effect on a database that
 * has no table yet, so it is set first, before journal_mode writes the header; a database made
 * before it needs one VACUUM (the storage module does it at boot when small enough).
 */
export const AUTO_VACUUM = 'INCREMENTAL';

/**
 * When a checkpoint has copied the whole WAL and the next writer starts it over, SQLite truncates
 * the file to this size: a WAL that grew past it (a long reader held checkpoints back) gives the
 * space back. The checkpoint worker keeps it far smaller in normal running; the engine's own
 * backstop checkpoints at the same size (BACKSTOP_WAL_PAGES × 4 KiB).
 */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export function applySqlitePragmas(db: Database): void {
  db.pragma(`auto_vacuum = ${AUTO_VACUUM}`);
  for (const [name, value] of SQLITE_PRAGMAS) {
    db.pragma(`${name} = ${value}`);
  }
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
}
