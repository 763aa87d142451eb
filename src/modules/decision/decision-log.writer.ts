import { type BeforeApplicationShutdown, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { detached } from '../../common/concurrency';
import { DatabaseService } from '../../common/database/database.service';
import type { DecisionTier } from './action';
import { SerialTask } from '../../common/async/serial-task';

export interface DecisionLogEntry {
  session_id: string;
  decision_tier: DecisionTier;
  action_type: string;
  reason: string | null;
  state_version: number | null;
  processing_time_ms: number;
  success?: boolean | null;
  outcome?: string | null;
  created_at: number;
}

const FLUSH_INTERVAL_MS = 250;
/** Rows per multi-row INSERT: one statement step instead of 64 (a third less per row). */
const ROWS_PER_INSERT = 64;
const COLUMNS = '(session_id, decision_tier, action_type, reason, state_version, processing_time_ms, success, outcome, created_at)';
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
const INSERT_ONE = `INSERT INTO decision_log ${COLUMNS} VALUES ${ROW}`;
const INSERT_MANY = `INSERT INTO decision_log ${COLUMNS} VALUES ${Array<string>(ROWS_PER_INSERT).fill(ROW).join(', ')}`;

function pushRow(params: unknown[], e: DecisionLogEntry): void {
  params.push(e.session_id, e.decision_tier, e.action_type, e.reason, e.state_version, e.processing_time_ms, e.success == null ? null : e.success ? 1 : 0, e.outcome ?? null, e.created_at);
}
export const FLUSH_AT = 500;
const MAX_BUFFERED = 50_000;

/**
 * Every decision goes to decision_log, in batches: the request path only pushes to an array;
 * one flusher writes a batch per transaction (on an interval, when the buffer fills, and at
 * shutdown). A full buffer drops and counts rather than slowing bots down.
 */
@Injectable()
export class DecisionLogWriter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(DecisionLogWriter.name);
  private buffer: DecisionLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly flusher = new SerialTask(() => this.flushOnce());
  private flushSoon: NodeJS.Immediate | undefined;
  written = 0;
  dropped = 0;

  constructor(private readonly db: DatabaseService) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.flushSoon) clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    await this.flush();
  }

  push(entry: DecisionLogEntry): void {
    // Optional: dropped (and counted by the guard) when the disk is critical or writes fail.
    if (this.db.storage.shed('decision_log')) return;
    if (this.buffer.length >= MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.buffer.push(entry);
    // Soon, not here: a flush started inside push() would run its first transaction inside
    // the request that happened to fill the buffer.
    if (this.buffer.length >= FLUSH_AT && !this.flushSoon) {
      // Detached: an immediate carries the request's async context, and with it the request's
      // session turn as a held lock the flush's DATABASE lock would be checked against.
      this.flushSoon = detached(() =>
        setImmediate(() => {
          this.flushSoon = undefined;
          void this.flush();
        }),
      );
    }
  }

  get pending(): number {
    return this.buffer.length;
  }

  flush(): Promise<void> {
    return this.flusher.run();
  }

  private async flushOnce(): Promise<void> {
    // While writes fail for lack of space, flushes back off instead of failing every tick.
    if (this.buffer.length === 0 || this.db.storage.deferBackground()) return;
    const batch = this.buffer;
    this.buffer = [];
    const { written, error } = await this.db.writeChunked(
      batch,
      (tx, chunk) => {
        const params: unknown[] = [];
        let i = 0;
        for (; i + ROWS_PER_INSERT <= chunk.length; i += ROWS_PER_INSERT) {
          params.length = 0;
          for (let j = i; j < i + ROWS_PER_INSERT; j += 1) pushRow(params, chunk[j]);
          tx.run(INSERT_MANY, params);
        }
        for (; i < chunk.length; i += 1) {
          params.length = 0;
          pushRow(params, chunk[i]);
          tx.run(INSERT_ONE, params);
        }
      },
      // A normal flush is one transaction (fewer, larger commits write less WAL); only a
      // backlog is split.
      { label: 'decision_log.flush', chunkSize: 2 * FLUSH_AT },
    );
    this.written += written;
    if (error !== undefined) {
      // Put the unwritten rest back in front (bounded): a transient failure loses nothing acknowledged.
      this.buffer = batch.slice(written).concat(this.buffer).slice(0, MAX_BUFFERED);
      this.logger.error({ err: error, entries: batch.length - written }, 'decision_log flush failed');
    }
  }
}
