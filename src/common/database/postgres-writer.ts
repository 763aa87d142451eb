import { Logger } from '@nestjs/common';
import { DatabaseError, type Pool, type PoolClient, type QueryResult } from 'pg';
import { CommitOutcomeUnknownError } from './database.errors';
import type { Isolation, RunResult, SqlParams, WriteBody, WriteOptions, WriteTx } from './database.service';
import { numbered } from './sql-dialect';
import { writeOrderCheck } from './table-order';
import { isOutOfSpace, StorageFullError } from '../errors/storage.errors';
import { retryBounded, type RetryCounters } from './write-retry';

export type { Isolation } from './database.service';

export interface PgWriteOptions extends WriteOptions {
  /** Makes the error a full disk is reported as (the storage guard's view of it). */
  onFull?: (err: unknown) => Error;
}

export interface PostgresWriterOptions {
  /** Isolation of a write that names none (default read committed). */
  isolation?: Isolation;
  /** Counters to add to (the DatabaseService's), else the writer's own. */
  counters?: PostgresWriterCounters;
  /** How long one statement waits for a row or table lock before failing with 55P03 (default 2 s). */
  lockTimeoutMs?: number;
  /** Default bound of the retries of one write (default 10 s, like SQLite's busy deadline). */
  deadlineMs?: number;
  /** Most attempts of one write, whatever the deadline (default 50). */
  maxAttempts?: number;
}

export interface PostgresWriterCounters extends RetryCounters {
  commits: number;
  rollbacks: number;
  /** Attempts rolled back by the server for a serialization failure (40001) or deadlock (40P01), then run again. */
  serialization_retries: number;
  /** Attempts that waited out a lock (55P03) or an exhausted pool, then ran again. */
  busy_retries: number;
  busy_failures: number;
  busy_wait_ms: number;
  /** Errors of idle clients of the pool (a server restart, a dropped connection): logged and counted. */
  pool_errors: number;
}

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRY_CODES = new Set(['40001', '40P01']);
/** A lock (or the pool) not granted in time: the server's counterpart of SQLITE_BUSY. */
const BUSY_CODES = new Set(['55P03']);
const BACKOFF_BASE_MS = 2;
const BACKOFF_MAX_MS = 100;

export function isSerializationFailure(err: unknown): boolean {
  return RETRY_CODES.has(String((err as { code?: unknown } | null)?.code));
}

export function isPgBusy(err: unknown): boolean {
  if (BUSY_CODES.has(String((err as { code?: unknown } | null)?.code))) return true;
  // pg.Pool's own bound (connectionTimeoutMillis) on waiting for a free client.
  return err instanceof Error && /timeout exceeded when trying to connect/i.test(err.message);
}

/**
 * `DatabaseService.write`'s contract on PostgreSQL: one transaction per call on a client of the
 * pool, the isolation the caller asks for, the global table write order checked as on SQLite,
 * and a bounded retry with jittered backoff — the whole body again — after a serialization
 * failure or a deadlock (40001, 40P01) or a lock not granted within `lockTimeoutMs` (55P03).
 * A write still failing at its deadline is a DatabaseBusyError (503), as on SQLite; a disk full
 * on the server (53100) is a StorageFullError (503), nothing of the transaction kept.
 *
 * A failed COMMIT is retried only when the server answered it with an ERROR (a serialization
 * failure found at commit, say): PostgreSQL then rolled the transaction back. A COMMIT without
 * an answer, or with a FATAL one, may have been applied: CommitOutcomeUnknownError, never run
 * again.
 *
 * Bodies are the same as on SQLite (`?` placeholders, translated here); an INSERT without a
 * RETURNING clause gets `RETURNING *` so that `lastInsertRowid` is the (last) inserted row's id.
 */
export class PostgresWriter {
  private readonly logger = new Logger(PostgresWriter.name);
  readonly counters: PostgresWriterCounters;
  private readonly lockTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly maxAttempts: number;
  private readonly defaultIsolation: Isolation;
  private readonly onPoolError = (err: Error) => {
    // An idle client lost its connection (server restart, network): the pool drops that client
    // and makes a new one on demand. Without a listener this event would crash the process.
    this.counters.pool_errors += 1;
    this.logger.warn({ err, pool_errors: this.counters.pool_errors }, 'an idle PostgreSQL connection failed; the pool replaces it');
  };

  constructor(
    private readonly pool: Pool,
    options: PostgresWriterOptions = {},
  ) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 2_000;
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 50;
    this.defaultIsolation = options.isolation ?? 'read committed';
    this.counters = options.counters ?? { commits: 0, rollbacks: 0, serialization_retries: 0, busy_retries: 0, busy_failures: 0, busy_wait_ms: 0, pool_errors: 0 };
    // A stand-in pool of a spec may have no events.
    if (typeof (pool as Partial<Pool>).on === 'function') pool.on('error', this.onPoolError);
  }

  /** Removes the pool listener (the pool's owner ends the pool). */
  detach(): void {
    if (typeof (this.pool as Partial<Pool>).off === 'function') this.pool.off('error', this.onPoolError);
  }

  async write<T>(body: WriteBody<T>, options: PgWriteOptions = {}): Promise<T> {
    const isolation = options.isolation ?? this.defaultIsolation;
    return retryBounded(
      async () => {
        try {
          return await this.runOnce(body, isolation, true);
        } catch (err) {
          if (isOutOfSpace(err) && !(err instanceof StorageFullError)) {
            // Rolled back whole: nothing of it is acknowledged. A 503 with Retry-After, never a 500.
            throw options.onFull?.(err) ?? new StorageFullError('No space left on the database server; retry later', { label: options.label ?? null, reason: (err as { code?: unknown }).code ?? null });
          }
          throw err;
        }
      },
      {
        classify: (err) => (isSerializationFailure(err) ? 'serialization' : isPgBusy(err) ? 'busy' : 'fail'),
        deadlineMs: options.busyDeadlineMs ?? this.deadlineMs,
        maxAttempts: this.maxAttempts,
        backoffBaseMs: BACKOFF_BASE_MS,
        backoffMaxMs: BACKOFF_MAX_MS,
        signal: options.signal,
        label: options.label,
        counters: this.counters,
        logger: this.logger,
      },
    );
  }

  /** Runs `body` in a transaction that is rolled back (the warm-up); false when a lock was not granted. */
  async rehearse(body: WriteBody<unknown>): Promise<boolean> {
    try {
      await this.runOnce(body, this.defaultIsolation, false);
      return true;
    } catch (err) {
      if (isPgBusy(err) || isSerializationFailure(err)) return false;
      throw err;
    }
  }

  private async runOnce<T>(body: WriteBody<T>, isolation: Isolation, commit: boolean): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      try {
        // One round trip: a simple query may hold several statements.
        await client.query(`BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}; SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);
      } catch (err) {
        broken = true;
        throw err;
      }
      let open = true;
      const checkOrder = writeOrderCheck();
      const query = (sql: string, params: SqlParams = []): Promise<QueryResult> => {
        if (!open) return Promise.reject(new Error('A statement ran after its write transaction ended'));
        if (!Array.isArray(params)) return Promise.reject(new TypeError('PostgreSQL statements take positional (?) parameters only'));
        return client.query(numbered(sql), params as unknown[]);
      };
      const tx: WriteTx = {
        dialect: 'postgres',
        run: async (sql, params) => {
          checkOrder(sql);
          const insert = /^\s*INSERT\s/i.test(sql) && !/\bRETURNING\b/i.test(sql);
          const res = await query(insert ? `${sql} RETURNING *` : sql, params);
          const last = insert ? (res.rows[res.rows.length - 1] as { id?: unknown } | undefined) : undefined;
          return { changes: res.rowCount ?? 0, lastInsertRowid: last?.id === undefined ? 0 : Number(last.id) } satisfies RunResult;
        },
        get: async <R>(sql: string, params?: SqlParams) => (await query(sql, params)).rows[0] as R | undefined,
        all: async <R>(sql: string, params?: SqlParams) => (await query(sql, params)).rows as R[],
      };
      let result: T;
      try {
        result = await body(tx);
      } catch (err) {
        open = false;
        this.counters.rollbacks += 1;
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is in an unknown state: the pool must not hand it out again.
          broken = true;
          this.logger.error({ err: rollbackErr }, 'rollback failed');
        }
        throw err;
      }
      open = false;
      if (!commit) {
        await client.query('ROLLBACK');
        return result;
      }
      try {
        await client.query('COMMIT');
      } catch (err) {
        if (err instanceof DatabaseError && err.severity === 'ERROR') {
          // Answered with an error: the server rolled the transaction back (write() may retry it).
          this.counters.rollbacks += 1;
          throw err;
        }
        broken = true;
        this.logger.error({ err }, 'COMMIT got no answer: the transaction may or may not have been applied');
        throw new CommitOutcomeUnknownError('The database did not confirm the commit; it may or may not have been applied', { code: (err as { code?: unknown } | null)?.code ?? null });
      }
      this.counters.commits += 1;
      return result;
    } finally {
      client.release(broken);
    }
  }
}

/** A client of the pool outside any write transaction, for reads (one statement each). */
export async function pgQuery<R>(pool: Pool | PoolClient, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  return (await pool.query(numbered(sql), params as unknown[])).rows as R[];
}
