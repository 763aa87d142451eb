import { yieldToLoop } from '../../common/async/wait';
import type { ActionType } from './ml.constants';
import { PeriodicJobs } from '../../common/scheduling';

export type SampleSource = 'api' | 'feedback';

/** One outcome to learn from, as buffered and written to `training_data`. */
export interface TrainingSample {
  /** The 28 features (contract order) of the state the action was taken in. */
  readonly features: readonly number[];
  readonly action: ActionType;
  readonly reward: number;
  readonly success: boolean;
  readonly sessionId: string | null;
  readonly source: SampleSource;
  /** The model version whose prediction led to the action, when known. */
  readonly modelVersion: number | null;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** Where batches go: one call = one transaction; it either commits the whole batch or throws. */
export interface TrainingSink {
  write(batch: readonly TrainingSample[]): Promise<void>;
}

export interface TrainingBufferOptions {
  /** Most samples held in memory; beyond it new samples are dropped (and counted). */
  capacity: number;
  /** Most samples per transaction (one slice of event-loop time: keep it small). */
  batchSize: number;
  /** Flush whatever is buffered this often; 0 disables the timer. */
  flushIntervalMs: number;
  /** After a failed write, half-full triggers pause this long (the interval still retries). */
  retryPauseMs?: number;
  now?: () => number;
  onError?: (err: unknown, batchSize: number) => void;
}

export interface TrainingBufferStats {
  size: number;
  capacity: number;
  accepted: number;
  /** Refused because the buffer was full (or closed). */
  dropped: number;
  written: number;
  /** Committed batches. */
  batches: number;
  failed_batches: number;
  flushing: boolean;
  last_flush_at: string | null;
  last_error: string | null;
}

/** The periodic job writing buffered training samples (ML_FLUSH_INTERVAL_MS). */
export const TRAINING_FLUSH_JOB = 'ml.training-flush';

/**
 * The bounded training-data buffer of docs/architecture.md §7.2, done right for one event loop:
 *
 * - `add` is synchronous and O(1): a full buffer drops the sample and counts it, so the request
 *   path never waits on the database.
 * - One flusher at a time. A flush takes batches off the front (a batch is out of the buffer
 *   before its write starts, so a sample added meanwhile can neither be in two batches nor be
 *   missed), writes each in one transaction, and goes on until everything buffered when it was
 *   asked for is written. Asking while a flush runs joins it (and extends its target).
 * - A failed write puts its batch back at the front, in order (the spec's version lost it), and
 *   the flush stops; the next trigger retries. The spec's `buffer_size_ = 0` after the swap,
 *   which forgot samples counted in between, has no equivalent: the array is the count.
 * - Triggers: half full, the interval, and `close()` at shutdown, which drains what it can.
 */
export class TrainingBuffer {
  private items: TrainingSample[] = [];
  private readonly now: () => number;
  private readonly retryPauseMs: number;
  /** Samples ever accepted / ever taken out for a write (a failed batch is given back). */
  private addedSeq = 0;
  private takenSeq = 0;
  /** The flush in progress drains until `takenSeq` reaches this. */
  private target = 0;
  private running: Promise<boolean> | null = null;
  /** Where the flush job runs, once started. */
  private jobs: PeriodicJobs | undefined;
  private closed = false;
  private pausedUntil = 0;
  private counters = { accepted: 0, dropped: 0, written: 0, batches: 0, failed_batches: 0 };
  private lastFlushAt: number | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly sink: TrainingSink,
    private readonly options: TrainingBufferOptions,
  ) {
    if (!(options.capacity >= 2)) throw new RangeError('capacity must be at least 2');
    if (!(options.batchSize >= 1)) throw new RangeError('batchSize must be at least 1');
    this.now = options.now ?? Date.now;
    this.retryPauseMs = options.retryPauseMs ?? 1_000;
  }

  get size(): number {
    return this.items.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts the interval flush as a periodic job (unref'd: it never keeps the process alive). */
  start(jobs: PeriodicJobs = PeriodicJobs.standalone()): void {
    if (this.jobs || this.options.flushIntervalMs <= 0 || this.closed) return;
    this.jobs = jobs;
    jobs.register(TRAINING_FLUSH_JOB, { intervalMs: this.options.flushIntervalMs, run: () => (this.items.length > 0 ? this.flush() : undefined) });
  }

  /** Buffers a sample; false if it was dropped (buffer full or closed). Never waits. */
  add(sample: TrainingSample): boolean {
    if (this.closed || this.items.length >= this.options.capacity) {
      this.counters.dropped += 1;
      return false;
    }
    this.items.push(sample);
    this.addedSeq += 1;
    this.counters.accepted += 1;
    if (this.items.length >= this.options.capacity / 2 && !this.running && this.now() >= this.pausedUntil) void this.flush();
    return true;
  }

  /**
   * Writes everything buffered now (joining a flush already running). Resolves true when all
   * of it was written, false if a write failed (the rest stays buffered). Never rejects.
   */
  flush(): Promise<boolean> {
    this.target = Math.max(this.target, this.addedSeq);
    if (!this.running) this.running = this.drain();
    return this.running;
  }

  /** Stops the timer and drains; later samples are dropped. Resolves true if nothing was left behind. */
  async close(): Promise<boolean> {
    this.closed = true;
    if (this.jobs) await this.jobs.stop(TRAINING_FLUSH_JOB);
    // A failure here gets one retry (a busy database at the wrong moment), then we give up.
    if (await this.flush()) return true;
    return this.flush();
  }

  stats(): TrainingBufferStats {
    return {
      size: this.items.length,
      capacity: this.options.capacity,
      ...this.counters,
      flushing: this.running !== null,
      last_flush_at: this.lastFlushAt === null ? null : new Date(this.lastFlushAt).toISOString(),
      last_error: this.lastError,
    };
  }

  private async drain(): Promise<boolean> {
    // Always asynchronous, so `running` is set before the loop starts.
    await Promise.resolve();
    try {
      let first = true;
      while (this.takenSeq < this.target && this.items.length > 0) {
        // A batch is one transaction on the event loop: requests get a turn between two.
        if (!first) await yieldToLoop();
        first = false;
        if (!(this.takenSeq < this.target && this.items.length > 0)) break;
        const batch = this.items.splice(0, this.options.batchSize);
        this.takenSeq += batch.length;
        try {
          await this.sink.write(batch);
        } catch (err) {
          this.giveBack(batch);
          this.counters.failed_batches += 1;
          this.lastError = err instanceof Error ? err.message : String(err);
          this.pausedUntil = this.now() + this.retryPauseMs;
          this.options.onError?.(err, batch.length);
          return false;
        }
        this.counters.written += batch.length;
        this.counters.batches += 1;
        this.lastFlushAt = this.now();
      }
      return true;
    } finally {
      // In the same synchronous step as the loop's last check: a flush() asked for after this
      // point starts a new drain instead of joining one that already decided it was done.
      this.running = null;
      // Samples that arrived meanwhile and already fill half the buffer go next.
      if (!this.closed && this.items.length >= this.options.capacity / 2 && this.now() >= this.pausedUntil) void this.flush();
    }
  }

  /** Puts a failed batch back in front, oldest first; what no longer fits is dropped (oldest first). */
  private giveBack(batch: TrainingSample[]): void {
    this.takenSeq -= batch.length;
    const room = Math.max(0, this.options.capacity - this.items.length);
    const kept = batch.length <= room ? batch : batch.slice(batch.length - room);
    const lost = batch.length - kept.length;
    if (lost > 0) {
      this.counters.dropped += lost;
      // Dropped samples were counted into takenSeq's complement; keep the target reachable.
      this.addedSeq -= lost;
      this.target = Math.max(0, this.target - lost);
    }
    this.items = kept.concat(this.items);
  }
}
