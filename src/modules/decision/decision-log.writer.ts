import { type BeforeApplicationShutdown, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { PeriodicJobs } from '../../common/scheduling';
import { AppendWriter, type WriterStats } from '../../common/database/background-writer';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import type { DecisionTier } from './action';

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
/** The periodic job writing the buffered decisions. */
export const DECISION_LOG_FLUSH_JOB = 'decision-log.flush';
/** Rows per multi-row INSERT: one statement step instead of 64 (a third less per row). */
const ROWS_PER_INSERT = 64;
const COLUMNS = '(session_id, decision_tier, action_type, reason, state_version, processing_time_ms, success, outcome, created_at)';
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
const INSERT_ONE = `INSERT INTO decision_log ${COLUMNS} VALUES ${ROW}`;
const INSERT_MANY = `INSERT INTO decision_log ${COLUMNS} VALUES ${Array<string>(ROWS_PER_INSERT).fill(ROW).join(', ')}`;

function pushRow(params: unknown[], e: DecisionLogEntry): void {
  params.push(e.session_id, e.decision_tier, e.action_type, e.reason, e.state_version, e.processing_time_ms, e.success == null ? null : e.success ? 1 : 0, e.outcome ?? null, e.created_at);
}

/**
 * Rows per transaction: ~1.6 µs a row (bench/README.md), so a slice is ~0.4 ms of loop time.
 * A flush starts as soon as one slice is waiting: fewer rows outlive a scavenge in the buffer.
 */
export const SLICE_ROWS = 4 * ROWS_PER_INSERT;
export const FLUSH_AT = SLICE_ROWS;
const MAX_BUFFERED = 50_000;

/**
 * Every decision goes to decision_log, in batches: the request path only pushes to a buffer;
 * a background writer writes it in slices of SLICE_ROWS, one transaction each, with a turn of
 * the event loop between (on an interval, as soon as a slice is waiting, and at shutdown). A
 * full buffer drops and counts rather than slowing bots down.
 */
@Injectable()
export class DecisionLogWriter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly writer: AppendWriter<DecisionLogEntry>;

  constructor(
    private readonly db: DatabaseService,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    this.writer = new AppendWriter<DecisionLogEntry>({
      name: 'decision_log',
      sliceRows: SLICE_ROWS,
      maxPending: MAX_BUFFERED,
      flushAt: FLUSH_AT,
      writeSlice: (slice) => this.db.write((tx) => insertRows(tx, slice), { label: 'decision_log.flush' }),
      // While writes fail for lack of space, flushes back off instead of failing every tick.
      defer: () => this.db.storage.deferBackground(),
    });
  }

  onModuleInit(): void {
    this.writer.start(this.jobs, DECISION_LOG_FLUSH_JOB, FLUSH_INTERVAL_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.writer.close();
  }

  /** O(1), never waits; never writes here (a flush starts on the next turn of the loop). */
  push(entry: DecisionLogEntry): void {
    // Optional: dropped (and counted by the guard) when the disk is critical or writes fail.
    if (this.db.storage.shed('decision_log')) return;
    this.writer.push(entry);
  }

  get pending(): number {
    return this.writer.pending;
  }

  get written(): number {
    return this.writer.stats().written;
  }

  get dropped(): number {
    return this.writer.stats().dropped;
  }

  stats(): WriterStats {
    return this.writer.stats();
  }

  /** Writes what is buffered; resolves once it is committed (or a slice failed: the rest is kept). */
  async flush(): Promise<void> {
    await this.writer.flush();
  }
}

async function insertRows(tx: WriteTx, rows: readonly DecisionLogEntry[]): Promise<void> {
  let i = 0;
  // A fresh parameter array per statement: a driver may still hold the previous one.
  for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
    const params: unknown[] = [];
    for (let j = i; j < i + ROWS_PER_INSERT; j += 1) pushRow(params, rows[j]);
    await tx.run(INSERT_MANY, params);
  }
  for (; i < rows.length; i += 1) {
    const params: unknown[] = [];
    pushRow(params, rows[i]);
    await tx.run(INSERT_ONE, params);
  }
}
