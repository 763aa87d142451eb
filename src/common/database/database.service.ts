import { Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Database, Statement } from 'better-sqlite3';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { type CatalogLock, InjectLock, LockName, WithLock } from '../concurrency';
import { AsyncTransactionBodyError } from './database.errors';
import { rankOf, writeOrderCheck } from './table-order';
import { yieldToLoop } from '../async/wait';
import { isOutOfSpace, StorageFullError } from '../errors/storage.errors';
import { StorageGuard } from './storage-guard';
import { PostgresWriter, pgQuery } from './postgres-writer';
import { retryBounded } from './write-retry';

/** The database the engine runs on: the embedded SQLite file (default) or a PostgreSQL server (DATABASE_URL). */
export type Dialect = 'sqlite' | 'postgres';

/**
 * The isolation a PostgreSQL write needs. Read committed is enough for a body whose every
 * read-modify-write either locks the row it changes (`SELECT … FOR UPDATE`) or is one
 * conditional statement (a compare-and-set); serializable for a body that decides from rows it
 * does not lock. SQLite runs every write serialized whatever is asked.
 */
export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

/**
 * A row-locking clause for a read inside a write transaction: `FOR UPDATE` (the body will change
 * the row) or `FOR SHARE` (the body's write is fenced by the row staying as read) on PostgreSQL,
 * where reads at read committed lock nothing and see rows committed after the transaction began;
 * empty on SQLite, whose write transaction (BEGIN IMMEDIATE) already holds the database's only
 * write lock from its first statement, and which has no such clause.
 */
export function lockingRead(tx: Pick<WriteTx, 'dialect'>, mode: 'update' | 'share'): string {
  if (tx.dialect !== 'postgres') return '';
  return mode === 'update' ? ' FOR UPDATE' : ' FOR SHARE';
}

export type SqlParams = ReadonlyArray<unknown> | Record<string, unknown>;

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/**
 * What a write-transaction body may do: statements inside its transaction. They return promises
 * so that one body serves every dialect (a server database answers over the network); a body
 * awaits its own statements and nothing else (see `DatabaseService.write`).
 */
export interface WriteTx {
  /**
   * Which database runs the statements. A body that reads a row and then writes from what it
   * read needs that row locked on PostgreSQL (read committed) but must not say so on SQLite, where
   * the write transaction already excludes every other writer: see `lockingRead`.
   */
  readonly dialect: Dialect;
  run(sql: string, params?: SqlParams): Promise<RunResult>;
  get<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T | undefined>;
  all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]>;
}

/** A write-transaction body: statements through `tx`, awaited; its result is `write()`'s. */
export type WriteBody<T> = (tx: WriteTx) => T | Promise<T>;

export interface WriteOptions {
  /** Label for logs and counters. */
  label?: string;
  signal?: AbortSignal;
  /** Bound of the busy retries while other processes hold SQLite's write lock (default 10 s). */
  busyDeadlineMs?: number;
  /**
   * PostgreSQL only (SQLite's writes are serialized anyway): default serializable, so that every
   * body written for SQLite's one-writer-at-a-time keeps its meaning across engine instances (a
   * conflict is retried, the whole body again). A body that locks what it changes may ask for less.
   */
  isolation?: Isolation;
}

export interface ChunkedWriteOptions extends WriteOptions {
  /** Items per transaction (default 100). */
  chunkSize?: number;
}

export interface ChunkedWriteResult {
  /** Items committed, a prefix of the input. */
  written: number;
  /** Why the rest was not, when it was not. */
  error?: unknown;
}

export interface DatabaseCounters {
  commits: number;
  rollbacks: number;
  busy_retries: number;
  busy_failures: number;
  /** Time spent backing off while another process held the write lock (ms, async part only). */
  busy_wait_ms: number;
  /** Checkpoints the WAL checkpointer worker made progress with, and the ones that failed. */
  wal_checkpoints: number;
  wal_checkpoint_errors: number;
  /** PostgreSQL: attempts rolled back by the server (40001 serialization failure, 40P01 deadlock) and run again. */
  serialization_retries: number;
  /** PostgreSQL: errors of idle pool connections (logged, the pool replaces them). */
  pool_errors: number;
}

/**
 * How long one BEGIN IMMEDIATE may wait synchronously inside SQLite's busy handler. better-sqlite3
 * runs on the event loop thread, so the connection's busy_timeout (5 s, docs/architecture.md §5.1) would freeze
 * every request of this process while another process writes; the write path waits in short
 * synchronous slices and backs off asynchronously in between.
 */
const BUSY_SLICE_MS = 10;
/** Total bound of the busy retries of one write (then DatabaseBusyError, 503). */
const BUSY_DEADLINE_MS = 10_000;
const DEFAULT_CHUNK = 100;
const BACKOFF_BASE_MS = 2;
const BACKOFF_MAX_MS = 50;

/**
 * better-sqlite3 turns on extended result codes: besides SQLITE_BUSY there are
 * SQLITE_BUSY_RECOVERY (another connection is recovering the WAL, e.g. after a crash),
 * SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_TIMEOUT and SQLITE_LOCKED_* — all transient.
 */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Every write in the engine goes through `write()`: the DATABASE lock in-process (the single
 * better-sqlite3 connection must never see two transactions interleave), BEGIN IMMEDIATE across
 * processes, commit or roll back, and a bounded retry with backoff while another process holds
 * SQLite's write lock. The body awaits its statements (`tx.run/get/all` return promises, so the
 * same body runs on a server database) but nothing else: on SQLite the statements run at once
 * and their promises are already settled, so the whole transaction runs within one turn of the
 * event loop — a body that awaits a timer or I/O is rolled back with AsyncTransactionBodyError,
 * since it would hold SQLite's write lock (and the connection) across the event loop.
 * Reads (`get`, `all`) take no lock and open no transaction: WAL gives each statement a
 * consistent snapshot of what is committed — except on this one shared connection while a write
 * is open. Other code on the loop can run between two awaits of a body (between its microtasks),
 * and a read it makes then goes through the same connection, inside the open transaction, and
 * sees its uncommitted rows (which a rollback may still undo). A separate read-only connection
 * for reads would close that window (docs/architecture.md, "PostgreSQL").
 *
 * On PostgreSQL (DATABASE_URL) the same interface runs on a pool: writes through PostgresWriter
 * (serializable by default, retried on 40001/40P01/55P03, still one at a time per process under
 * DATABASE), reads one statement each on a pool client, outside any write transaction — so they
 * never see a write in progress. Callers do not know the dialect; SQLite-only maintenance
 * (`connection`, `prepare`, pragmas) asks `dialect` first.
 */
@Injectable()
export class DatabaseService {
  private readonly logger = new Logger(DatabaseService.name);
  private readonly statements = new Map<string, Statement>();
  private readonly ranks = new Map<string, number | undefined>();
  readonly counters: DatabaseCounters = {
    commits: 0,
    rollbacks: 0,
    busy_retries: 0,
    busy_failures: 0,
    busy_wait_ms: 0,
    wal_checkpoints: 0,
    wal_checkpoint_errors: 0,
    serialization_retries: 0,
    pool_errors: 0,
  };
  readonly dialect: Dialect;
  private pgWriter: PostgresWriter | undefined;
  /** The connection's own busy_timeout (spec pragma), restored after each BEGIN IMMEDIATE. */
  private connectionBusyTimeout: number | undefined;

  /** The disk's state: writers ask it before optional writes and background flushes. */
  readonly storage: StorageGuard;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectLock(LockName.DATABASE) private readonly databaseLock: CatalogLock<typeof LockName.DATABASE>,
    @Optional() storage?: StorageGuard,
  ) {
    this.storage = storage ?? new StorageGuard();
    this.dialect = (this.dataSource.options as { type?: string } | undefined)?.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  /** SQLite: the raw connection, for SQLite-only maintenance and for tests; writes go through `write()`. */
  get connection(): Database {
    if (this.dialect !== 'sqlite') throw new Error('DatabaseService.connection is SQLite only; this engine runs on PostgreSQL');
    return (this.dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection;
  }

  /** PostgreSQL: the pool (TypeORM's, sized by DATABASE_POOL_SIZE, ended with the data source at shutdown). */
  get pool(): Pool {
    if (this.dialect !== 'postgres') throw new Error('DatabaseService.pool is PostgreSQL only');
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /** The PostgreSQL write path, made on first use (the pool exists once the data source is initialized). */
  private get writer(): PostgresWriter {
    this.pgWriter ??= new PostgresWriter(this.pool, { isolation: 'serializable', counters: this.counters });
    return this.pgWriter;
  }

  /** SQLite only: a prepared (cached) statement on the connection. */
  prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.connection.prepare(sql);
      // Bounded: statements are written in code, but keep a runaway from growing forever.
      if (this.statements.size < 1000) this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** The TABLE_WRITE_ORDER rank of the table `sql` writes, parsed once per statement text. */
  private writeRank(sql: string): number | undefined {
    if (this.ranks.has(sql)) return this.ranks.get(sql);
    const rank = rankOf(sql);
    if (this.ranks.size < 1000) this.ranks.set(sql, rank);
    return rank;
  }

  /**
   * One row of a read outside any write transaction. On SQLite the statement runs at once and the
   * promise is already settled (no extra turn of the event loop beyond the await); on PostgreSQL
   * it is one round trip on a client of the pool.
   */
  get<T = Record<string, unknown>>(sql: string, params: SqlParams = []): Promise<T | undefined> {
    try {
      if (this.dialect === 'postgres') return pgQuery<T>(this.pool, sql, positional(params)).then((rows) => rows[0]);
      return Promise.resolve(this.prepare(sql).get(...args(params)) as T | undefined);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  all<T = Record<string, unknown>>(sql: string, params: SqlParams = []): Promise<T[]> {
    try {
      if (this.dialect === 'postgres') return pgQuery<T>(this.pool, sql, positional(params));
      return Promise.resolve(this.prepare(sql).all(...args(params)) as T[]);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Ends the PostgreSQL write path's hold on the pool (the data source ends the pool itself). */
  onApplicationShutdown(): void {
    this.pgWriter?.detach();
  }

  /**
   * One write transaction, under DATABASE: the engine's writes commit one at a time in call
   * order, also while one of them waits out another process's write lock (busy backoff).
   */
  @WithLock<[never, WriteOptions?]>(LockName.DATABASE, { signal: (_body, options) => options?.signal })
  async write<T>(body: WriteBody<T>, options: WriteOptions = {}): Promise<T> {
    // PostgreSQL too keeps the in-process order (one write of this process at a time): the
    // callers were written for it, and it spares the server conflicts between our own writes.
    if (this.dialect === 'postgres') {
      const result = await this.writer.write(body, { ...options, onFull: (err) => this.fullError(err, options.label) });
      // The server found room for a commit: writes succeed again.
      if (this.storage.writesFailing) this.storage.noteWriteOk(true);
      return result;
    }
    return this.runWithRetry(body, options);
  }

  /** A write that failed for lack of space: told to the storage guard, answered 503 with Retry-After. */
  private fullError(err: unknown, label: string | undefined): StorageFullError {
    this.storage.noteOutOfSpace(err, label);
    return new StorageFullError(undefined, { label: label ?? null, reason: (err as { code?: unknown } | null)?.code ?? null }, this.storage.retryAfterSeconds);
  }

  /**
   * Writes `items` in transactions of at most `chunkSize`, giving the event loop a turn between
   * them: a periodic flush of thousands of rows then never holds every request behind it for
   * longer than one chunk. Never throws: says how many (a prefix) were committed and why the
   * rest were not, so the caller can keep exactly those for its next attempt.
   */
  async writeChunked<T>(items: readonly T[], body: (tx: WriteTx, chunk: readonly T[]) => void | Promise<void>, options: ChunkedWriteOptions = {}): Promise<ChunkedWriteResult> {
    const size = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
    let written = 0;
    while (written < items.length) {
      if (written > 0) await yieldToLoop();
      const chunk = items.slice(written, written + size);
      try {
        await this.write((tx) => body(tx, chunk), options);
      } catch (error) {
        return { written, error };
      }
      written += chunk.length;
    }
    return { written };
  }

  private async runWithRetry<T>(body: WriteBody<T>, options: WriteOptions): Promise<T> {
    return retryBounded(
      async () => {
        try {
          return await this.runOnce(body);
        } catch (err) {
          // Rolled back whole: nothing of it is acknowledged. A 503 with Retry-After, never a 500.
          if (isOutOfSpace(err) && !(err instanceof StorageFullError)) throw this.fullError(err, options.label);
          throw err;
        }
      },
      {
        classify: (err) => (isBusy(err) ? 'busy' : 'fail'),
        deadlineMs: options.busyDeadlineMs ?? BUSY_DEADLINE_MS,
        backoffBaseMs: BACKOFF_BASE_MS,
        backoffMaxMs: BACKOFF_MAX_MS,
        signal: options.signal,
        label: options.label,
        counters: this.counters,
        logger: this.logger,
      },
    );
  }

  /** Pages of the database in use (not on the free list), as this connection sees it. */
  private usedPages(): number {
    return (this.prepare('SELECT p.page_count - f.freelist_count AS used FROM pragma_page_count() p, pragma_freelist_count() f').get() as { used: number }).used;
  }

  /** BEGIN IMMEDIATE takes SQLite's write lock now (cross-process), waiting at most one short slice. */
  private beginImmediate(db: Database): void {
    this.connectionBusyTimeout ??= Number(db.pragma('busy_timeout', { simple: true }));
    // Prepared (and cached) pragma statements: a fraction of db.pragma()'s cost on every write.
    this.prepare(`PRAGMA busy_timeout = ${BUSY_SLICE_MS}`).get();
    try {
      this.prepare('BEGIN IMMEDIATE').run();
    } finally {
      this.prepare(`PRAGMA busy_timeout = ${this.connectionBusyTimeout}`).get();
    }
  }

  /**
   * Runs `body` as a write transaction that is rolled back: its statements are prepared and run
   * (plans, pages, the JIT of the code that builds them), nothing is written and nothing counted.
   * For the warm-up before the engine serves. Under DATABASE like every write, so no other
   * transaction can interleave on the connection; a database busy with another process is not
   * waited for beyond one short slice (false: the body did not run to its end).
   */
  @WithLock(LockName.DATABASE)
  async rehearse(body: WriteBody<unknown>): Promise<boolean> {
    if (this.dialect === 'postgres') return this.writer.rehearse(body);
    try {
      await this.runOnce(body, false);
      return true;
    } catch (err) {
      if (isBusy(err)) return false;
      throw err;
    }
  }

  private async runOnce<T>(body: WriteBody<T>, commit = true): Promise<T> {
    const db = this.connection;
    // Outside the try: a BEGIN that failed (busy) opened nothing to roll back.
    this.beginImmediate(db);
    // While writes fail for lack of space, whether this one takes pages tells the storage guard
    // if its commit found room (a heartbeat rewriting a row in place, a prune, find none).
    let pagesBefore: number | undefined;
    const checkOrder = writeOrderCheck((sql) => this.writeRank(sql));
    // The statements' promises are settled at once, so a body that awaits only them runs to its
    // end in the microtask queue of the current callback. Node runs the next-tick queue once that
    // queue is empty and before any other callback (timer, immediate, I/O): this tick running
    // while the transaction is open means the body awaited something else. It is queued from a
    // microtask: queued directly from inside a next-tick callback it would run before the
    // microtasks (the body). An immediate would not do either: armed from inside a check-phase
    // callback it runs only after the next iteration's timers and I/O, which may resume the
    // body first.
    let spanned = false;
    let open = true;
    queueMicrotask(() => process.nextTick(() => (spanned = true)));
    const live = () => {
      if (!open) throw new AsyncTransactionBodyError('A statement ran after its write transaction ended');
      if (spanned) throw new AsyncTransactionBodyError('A write transaction body may await only its own statements');
    };
    const tx: WriteTx = {
      dialect: 'sqlite',
      run: async (sql, params = []) => {
        live();
        checkOrder(sql);
        return this.prepare(sql).run(...args(params));
      },
      get: async <R>(sql: string, params?: SqlParams) => (live(), this.get<R>(sql, params)),
      all: async <R>(sql: string, params?: SqlParams) => (live(), this.all<R>(sql, params)),
    };
    try {
      if (commit && this.storage.writesFailing) pagesBefore = this.usedPages();
      const result = await body(tx);
      live();
      open = false;
      if (!commit) {
        this.prepare('ROLLBACK').run();
        return result;
      }
      const tookPages = pagesBefore !== undefined && this.usedPages() > pagesBefore;
      this.prepare('COMMIT').run();
      this.counters.commits += 1;
      if (pagesBefore !== undefined) this.storage.noteWriteOk(tookPages);
      return result;
    } catch (err) {
      open = false;
      if (db.inTransaction) {
        try {
          this.prepare('ROLLBACK').run();
        } catch (rollbackErr) {
          // Never mask the error that made us roll back.
          this.logger.error({ err: rollbackErr }, 'rollback failed');
        }
      }
      if (commit) this.counters.rollbacks += 1;
      throw err;
    }
  }
}

/** PostgreSQL statements take positional parameters only (the engine's SQL uses `?`). */
function positional(params: SqlParams): unknown[] {
  if (!Array.isArray(params)) throw new TypeError('PostgreSQL statements take positional (?) parameters only');
  return params as unknown[];
}

/** better-sqlite3 takes positional parameters spread, named ones as a single object. */
function args(params: SqlParams): unknown[] {
  return Array.isArray(params) ? (params as unknown[]) : [params];
}
