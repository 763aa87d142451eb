import { Logger } from '@nestjs/common';
import { SerialTask } from '../async/serial-task';
import { yieldToLoop } from '../async/wait';
import { detached, runInTask } from '../concurrency';
import type { PeriodicJobs } from '../scheduling';

/**
 * Background persistence off the request path, in bounded slices.
 *
 * better-sqlite3 runs every statement on the event loop, so a flush of thousands of rows in one
 * transaction is that long a stall for every bot. Here rows are written in slices of at most
 * `sliceRows` — one transaction each, sized so a slice takes well under 2 ms of loop time (the
 * per-row costs are measured in bench/README.md) — and the event loop gets a turn between
 * slices. Nothing a request waits for ever shares a turn of the loop with more than one slice.
 *
 * The boundary is dialect-neutral and asynchronous: a writer hands a slice to `writeSlice` and
 * waits for its commit; only that function knows the SQL and the driver (a synchronous
 * better-sqlite3 transaction today, an async PostgreSQL one behind the same interface later).
 * Callers `push`/`set` without waiting; whoever needs durability awaits `flush()`, which
 * resolves once a run that began after the call has committed everything it took.
 */
export interface SliceWriterOptions<T> {
  /** For logs and the lock reports. */
  name: string;
  /** Most rows per slice (one transaction). */
  sliceRows: number;
  /** Writes one slice in one transaction; resolves once committed, rejects if rolled back. */
  writeSlice: (slice: readonly T[]) => Promise<void>;
  /**
   * Asked before each run: true skips it and keeps every row pending (the storage guard's
   * back-off while writes fail for lack of space). Not asked once the writer is closing: the
   * final flushes always try.
   */
  defer?: () => boolean;
}

export interface WriterStats {
  /** Rows waiting for the next flush. */
  pending: number;
  written: number;
  /** Rows refused because the writer was full or closed. */
  dropped: number;
  slices: number;
  failed_slices: number;
  /** The largest slice ever written (rows): never above the bound. */
  largest_slice: number;
}

/** The slicing loop shared by both kinds of writer: what to take, and how to give back what failed. */
abstract class SliceWriter<T> {
  protected readonly logger: Logger;
  private readonly task: SerialTask<boolean>;
  private job: { jobs: PeriodicJobs; name: string } | undefined;
  private soon: NodeJS.Immediate | undefined;
  protected closed = false;
  protected readonly counters = { written: 0, dropped: 0, slices: 0, failed_slices: 0, largest_slice: 0 };

  constructor(protected readonly options: SliceWriterOptions<T>) {
    if (!(options.sliceRows >= 1)) throw new RangeError('sliceRows must be at least 1');
    this.logger = new Logger(`BackgroundWriter:${options.name}`);
    // Detached: a flush kicked from a request must not carry its held locks (its session turn).
    this.task = new SerialTask(() => detached(() => runInTask(`writer:${options.name}`, () => this.run())));
  }

  abstract get pending(): number;
  /** Everything to write now, in order; the writer holds none of it afterwards. */
  protected abstract take(): T[];
  /** Rows of a failed run, unwritten: kept for the next flush (unless superseded). */
  protected abstract giveBack(rows: T[]): void;

  /** Flushes every `intervalMs` as the periodic job `jobName` (unref'd; 0 disables it). */
  start(jobs: PeriodicJobs, jobName: string, intervalMs: number): void {
    if (this.job || this.closed) return;
    this.job = { jobs, name: jobName };
    jobs.register(jobName, { intervalMs, run: () => (this.pending > 0 ? this.flush() : undefined) });
  }

  /**
   * Writes everything pending, slice by slice. Resolves true once a run that began after this
   * call has committed all it took, false if a slice failed (its rows and the rest are kept and
   * retried by the next flush) or the run was deferred (nothing taken). Never rejects.
   */
  flush(): Promise<boolean> {
    return this.task.run();
  }

  /** A flush on the next turn of the event loop: never inside the request that asked for it. */
  protected flushSoon(): void {
    if (this.soon || this.closed) return;
    this.soon = detached(() =>
      setImmediate(() => {
        this.soon = undefined;
        void this.flush();
      }),
    );
  }

  /** Stops the timer and writes what is pending (a failing database gets one retry). True if nothing was left behind. */
  async close(): Promise<boolean> {
    this.closed = true;
    if (this.job) await this.job.jobs.stop(this.job.name);
    if (this.soon) clearImmediate(this.soon);
    this.soon = undefined;
    if ((await this.flush()) && this.pending === 0) return true;
    return (await this.flush()) && this.pending === 0;
  }

  stats(): WriterStats {
    return { pending: this.pending, ...this.counters };
  }

  private async run(): Promise<boolean> {
    if (!this.closed && this.options.defer?.() === true) return false;
    const rows = this.take();
    let written = 0;
    while (written < rows.length) {
      if (written > 0) await yieldToLoop();
      const slice = rows.slice(written, written + this.options.sliceRows);
      try {
        await this.options.writeSlice(slice);
      } catch (err) {
        this.counters.failed_slices += 1;
        this.giveBack(rows.slice(written));
        this.logger.error({ err, rows: rows.length - written }, 'background write failed; the rows are kept for the next flush');
        return false;
      }
      written += slice.length;
      this.counters.written += slice.length;
      this.counters.slices += 1;
      if (slice.length > this.counters.largest_slice) this.counters.largest_slice = slice.length;
    }
    return true;
  }
}

export interface AppendWriterOptions<T> extends SliceWriterOptions<T> {
  /** Rows held at most; further pushes are dropped and counted (never waited for). */
  maxPending: number;
  /** A flush starts on the next loop turn once this many rows wait. */
  flushAt: number;
}

/** An append-only stream (log rows): every row pushed is written once, in push order. */
export class AppendWriter<T> extends SliceWriter<T> {
  private buffer: T[] = [];

  constructor(protected override readonly options: AppendWriterOptions<T>) {
    super(options);
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** O(1), never waits: false when the row was dropped (writer full or closed). */
  push(row: T): boolean {
    if (this.closed || this.buffer.length >= this.options.maxPending) {
      this.counters.dropped += 1;
      return false;
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.options.flushAt) this.flushSoon();
    return true;
  }

  protected take(): T[] {
    const rows = this.buffer;
    this.buffer = [];
    return rows;
  }

  protected giveBack(rows: T[]): void {
    // In front of what came meanwhile, in order; bounded (the newest beyond the bound are dropped).
    const all = rows.concat(this.buffer);
    this.counters.dropped += Math.max(0, all.length - this.options.maxPending);
    this.buffer = all.slice(0, this.options.maxPending);
  }
}

/**
 * The latest value per key (a session's snapshot, its activity): setting a key again before it
 * is written replaces the value, so a flush writes each key once with what it holds then.
 */
export class LatestWriter<K, T> extends SliceWriter<[K, T]> {
  private dirty = new Map<K, T>();

  get pending(): number {
    return this.dirty.size;
  }

  /** O(1): on the request path (every tick sets its session's row and snapshot). */
  set(key: K, value: T): void {
    // A key already pending keeps its place (a delete + set would cost a rehash now and then).
    this.dirty.set(key, value);
  }

  /** Forgets a key's pending value (nothing of it will be written unless set again). */
  delete(key: K): void {
    this.dirty.delete(key);
  }

  protected take(): Array<[K, T]> {
    const rows = [...this.dirty];
    this.dirty = new Map();
    return rows;
  }

  protected giveBack(rows: Array<[K, T]>): void {
    // A key set again meanwhile keeps its newer value.
    const merged = new Map<K, T>();
    for (const [k, v] of rows) if (!this.dirty.has(k)) merged.set(k, v);
    for (const [k, v] of this.dirty) merged.set(k, v);
    this.dirty = merged;
  }
}
