import { type BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { yieldToLoop } from '../../common/async/wait';
import { detached, runInTask } from '../../common/concurrency';
import { DatabaseService, isBusy } from '../../common/database/database.service';
import { AppError, ServiceUnavailableError } from '../../common/errors/app.error';
import { StorageFullError } from '../../common/errors/storage.errors';
import type { DecisionTier } from '../decision';
import { MetricsLogBacklogError } from './metrics.errors';

export interface DecisionOutcome {
  session_id: string;
  decision_tier: DecisionTier;
  action_type: string;
  success: boolean;
  outcome: string | null;
  processing_time_ms: number;
  created_at: number;
}

interface Waiter {
  entry: DecisionOutcome;
  resolve: (id: number) => void;
  reject: (err: unknown) => void;
}

export interface OutcomeWriterOptions {
  /** Logs waiting for their transaction; past it `append` refuses with QUEUE_FULL. */
  maxPending?: number;
  /** Most rows per transaction. */
  batchSize?: number;
}

export const OUTCOME_WRITER_OPTIONS = Symbol('OUTCOME_WRITER_OPTIONS');

const INSERT = `INSERT INTO decision_log (session_id, decision_tier, action_type, reason, state_version, processing_time_ms, success, outcome, created_at)
                VALUES (?, ?, ?, NULL, NULL, ?, ?, ?, ?)`;

/**
 * Group commit for `POST /api/v1/metrics/log`: `append` resolves with the row id only after the
 * transaction holding the row committed, so an acknowledged log is on disk and its `log_id` is
 * the real `decision_log.id`. Appends of the same moment share one write transaction (the
 * writer waits one turn of the event loop, then writes everything queued, and loops while more
 * arrives), so many bots logging at once cost a few transactions, not one each. The writer runs
 * outside the requests' async context (it holds no SESSION turn). A batch that fails on a
 * non-transient error is retried row by row, so one bad row fails only its own request.
 */
@Injectable()
export class DecisionOutcomeWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DecisionOutcomeWriter.name);
  private queue: Waiter[] = [];
  /** True from the moment a write loop is scheduled until it saw the queue empty. */
  private active = false;
  private idle: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly maxPending: number;
  private readonly batchSize: number;
  private readonly start: () => Promise<void>;
  written = 0;
  failed = 0;
  transactions = 0;

  constructor(
    private readonly db: DatabaseService,
    @Optional() @Inject(OUTCOME_WRITER_OPTIONS) options: OutcomeWriterOptions | null = null,
  ) {
    this.maxPending = options?.maxPending ?? 10_000;
    // A batch is one transaction on the event loop: ~0.5 ms at 256 rows (bench/README.md).
    this.batchSize = options?.batchSize ?? 256;
    // Detached: the loop must not inherit the async context (and held locks) of the request that kicked it.
    this.start = () => detached(() => runInTask('metrics.log-writer', () => this.loop()));
  }

  get pending(): number {
    return this.queue.length;
  }

  append(entry: DecisionOutcome): Promise<number> {
    if (this.closed) return Promise.reject(new ServiceUnavailableError('The engine is shutting down; the log was not recorded'));
    // The decision log is optional: refused (and counted) when the disk is critical or writes fail.
    if (this.db.storage.shed('decision_log')) {
      return Promise.reject(new StorageFullError('Low disk space under DATA_DIR: decision logs are not recorded for now', { shed: 'decision_log' }, this.db.storage.retryAfterSeconds));
    }
    if (this.queue.length >= this.maxPending) {
      return Promise.reject(new MetricsLogBacklogError('Too many decision logs are waiting to be written; retry shortly', { pending: this.queue.length }));
    }
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.active) return;
    this.active = true;
    // One turn of the event loop first: the appends of this moment join the same transaction.
    this.idle = yieldToLoop().then(this.start);
  }

  /** Refuses new logs and waits until every accepted one is committed or failed. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    while (this.active) await this.idle;
  }

  private async loop(): Promise<void> {
    try {
      await this.writeQueued();
    } finally {
      // Set in the same synchronous step that saw the queue empty: an append after it starts a new loop.
      this.active = false;
    }
    if (this.queue.length > 0) this.kick();
  }

  private async writeQueued(): Promise<void> {
    for (let first = true; this.queue.length > 0; first = false) {
      // Requests get a turn of the loop between two transactions.
      if (!first) await yieldToLoop();
      const batch = this.queue.splice(0, this.batchSize);
      try {
        const ids = await this.db.write(
          async (tx) => {
            const out: number[] = [];
            for (const w of batch) out.push(Number((await tx.run(INSERT, params(w.entry))).lastInsertRowid));
            return out;
          },
          { label: 'decision_log.metrics' },
        );
        this.transactions++;
        this.settle(batch, ids);
      } catch (err) {
        if (batch.length > 1 && !isBusy(err) && !(err instanceof AppError)) {
          await this.oneByOne(batch);
        } else {
          this.fail(batch, err);
        }
      }
    }
  }

  private async oneByOne(batch: Waiter[]): Promise<void> {
    for (const w of batch) {
      try {
        const id = await this.db.write(async (tx) => Number((await tx.run(INSERT, params(w.entry))).lastInsertRowid), { label: 'decision_log.metrics' });
        this.transactions++;
        this.settle([w], [id]);
      } catch (err) {
        this.fail([w], err);
      }
    }
  }

  private settle(batch: Waiter[], ids: number[]): void {
    this.written += batch.length;
    for (let i = 0; i < batch.length; i++) batch[i].resolve(ids[i]);
  }

  private fail(batch: Waiter[], err: unknown): void {
    this.failed += batch.length;
    this.logger.error({ err, rows: batch.length }, 'decision_log write failed');
    // Known errors (DATABASE lock timeout, database busy) keep their code; anything else is a 503.
    const reason = err instanceof AppError ? err : new ServiceUnavailableError('The decision log could not be written');
    for (const w of batch) w.reject(reason);
  }
}

function params(e: DecisionOutcome): unknown[] {
  return [e.session_id, e.decision_tier, e.action_type, e.processing_time_ms, e.success ? 1 : 0, e.outcome, e.created_at];
}
