import type { Database } from 'better-sqlite3';

/** Spec §5.1: checkpoint every 1000 WAL pages. The engine moves this to a worker (WalCheckpointer). */
export const SPEC_WAL_AUTOCHECKPOINT = 1000;

/** Spec §5.1 pragmas, applied to every connection the engine opens. */
export const SQLITE_PRAGMAS: ReadonlyArray<readonly [string, string | number]> = [
  ['journal_mode', 'WAL'],
  ['busy_timeout', 5000],
  ['synchronous', 'NORMAL'],
  ['cache_size', -64000],
  ['wal_autocheckpoint', SPEC_WAL_AUTOCHECKPOINT],
  ['temp_store', 'MEMORY'],
  ['foreign_keys', 'ON'],
];

export function applySqlitePragmas(db: Database): void {
  for (const [name, value] of SQLITE_PRAGMAS) {
    db.pragma(`${name} = ${value}`);
  }
}
