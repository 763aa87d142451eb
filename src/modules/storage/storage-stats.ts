/**
 * Sizes of the database, read over a connection of its own (a worker thread's, see
 * storage.worker.ts): counting rows and reading every page through `dbstat` is proportional to
 * the file, so it never runs on the event loop of a large database. Imports nothing from Nest.
 */
import Database from 'better-sqlite3';

export interface TableSize {
  table: string;
  rows: number;
  /** The table's pages plus its indexes' (bytes in the file). */
  bytes: number;
  index_bytes: number;
}

export interface DatabaseSizes {
  page_size: number;
  page_count: number;
  freelist_pages: number;
  auto_vacuum: 'none' | 'full' | 'incremental';
  tables: TableSize[];
  /** How long the reading took (ms). */
  took_ms: number;
}

const AUTO_VACUUM = ['none', 'full', 'incremental'] as const;

export function readDatabaseSizes(file: string): DatabaseSizes {
  const started = performance.now();
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // One read transaction: counts and sizes of the same snapshot.
    return db.transaction(() => {
      const objects = db.prepare(`SELECT name, type, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')`).all() as Array<{ name: string; type: string; tbl_name: string }>;
      const tableOf = new Map(objects.map((o) => [o.name, o.tbl_name]));
      const pages = db.prepare(`SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name`).all() as Array<{ name: string; bytes: number }>;
      const sizes = new Map<string, { bytes: number; index: number }>();
      for (const p of pages) {
        const table = tableOf.get(p.name) ?? p.name;
        const entry = sizes.get(table) ?? { bytes: 0, index: 0 };
        entry.bytes += Number(p.bytes);
        if (table !== p.name) entry.index += Number(p.bytes);
        sizes.set(table, entry);
      }
      const tables: TableSize[] = [];
      for (const o of objects) {
        if (o.type !== 'table' || o.name.startsWith('sqlite_')) continue;
        const rows = Number((db.prepare(`SELECT COUNT(*) AS n FROM "${o.name.replace(/"/g, '""')}"`).get() as { n: number }).n);
        const s = sizes.get(o.name) ?? { bytes: 0, index: 0 };
        tables.push({ table: o.name, rows, bytes: s.bytes, index_bytes: s.index });
      }
      return {
        page_size: Number(db.pragma('page_size', { simple: true })),
        page_count: Number(db.pragma('page_count', { simple: true })),
        freelist_pages: Number(db.pragma('freelist_count', { simple: true })),
        auto_vacuum: AUTO_VACUUM[Number(db.pragma('auto_vacuum', { simple: true }))] ?? 'none',
        tables,
        took_ms: Math.round((performance.now() - started) * 100) / 100,
      };
    })();
  } finally {
    db.close();
  }
}

export interface VacuumResult {
  before_bytes: number;
  after_bytes: number;
  auto_vacuum: DatabaseSizes['auto_vacuum'];
  took_ms: number;
}

/**
 * A full VACUUM on a connection of its own, switching the file to incremental auto-vacuum: the
 * one-time conversion of a database created before auto-vacuum was on (it rewrites the whole
 * file, so it needs about its size free twice over: the new copy goes through the WAL).
 */
export function vacuumDatabase(file: string, busyTimeoutMs: number): VacuumResult {
  const started = performance.now();
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const before = pageSize * Number(db.pragma('page_count', { simple: true }));
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
    // The copy went through the WAL: put it into the file now rather than at the next checkpoint.
    db.pragma('wal_checkpoint(TRUNCATE)');
    return {
      before_bytes: before,
      after_bytes: pageSize * Number(db.pragma('page_count', { simple: true })),
      auto_vacuum: AUTO_VACUUM[Number(db.pragma('auto_vacuum', { simple: true }))] ?? 'none',
      took_ms: Math.round(performance.now() - started),
    };
  } finally {
    db.close();
  }
}
