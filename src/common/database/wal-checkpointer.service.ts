import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { resolveWorkerEntry } from '../workers/worker-entry';
import { DatabaseService } from './database.service';
import { SPEC_WAL_AUTOCHECKPOINT } from './sqlite-pragmas';
import { type CheckpointMessage, type CheckpointWorkerData, STOP, TICK } from './wal-checkpoint.protocol';
import { PeriodicJobs } from '../scheduling/periodic-jobs';
import { settledWithin } from '../async/wait';

/** How often the worker checkpoints. A farm writes a few MB of WAL a second. */
export const CHECKPOINT_INTERVAL_MS = 250;
/** The periodic job asking the worker for a checkpoint (a tick waits for its answer: never two at once). */
export const WAL_CHECKPOINT_JOB = 'database.wal-checkpoint';
/**
 * The engine's own connection still checkpoints past this many WAL pages (64 MiB): a backstop
 * that bounds the WAL should the worker fall behind, not the normal path.
 */
export const BACKSTOP_WAL_PAGES = 16_000;
const STOP_TIMEOUT_MS = 2_000;
const ERROR_LOG_EVERY_MS = 60_000;

/**
 * Moves WAL checkpoints off the event loop. With SQLite's autocheckpoint (spec: 1000 pages), the
 * commit that crosses the threshold copies the WAL into the database file and fsyncs it, inline:
 * measured 6–10 ms per such commit under a farm's load, during which no request is served. Here
 * a worker thread with its own connection runs PASSIVE checkpoints every 250 ms (asked by a
 * periodic job of the engine, off the event loop), and the engine's
 * connection keeps an autocheckpoint only as a far backstop. If the worker cannot start or dies,
 * the connection goes back to the spec's 1000 pages: slower tails, never an unbounded WAL.
 */
@Injectable()
export class WalCheckpointer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WalCheckpointer.name);
  private worker: Worker | undefined;
  private stopping = false;
  private ready = false;
  private lastError: string | undefined;
  private lastErrorLoggedAt = 0;
  private intervalMs = CHECKPOINT_INTERVAL_MS;

  /** Resolves the tick waiting for the worker's answer. */
  private answer: (() => void) | undefined;

  constructor(
    private readonly db: DatabaseService,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {}

  /** True while the worker is checkpointing (the engine's connection only has the backstop). */
  get running(): boolean {
    return this.ready && this.worker !== undefined;
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  start(intervalMs = CHECKPOINT_INTERVAL_MS): void {
    // PostgreSQL checkpoints its own WAL: nothing for the engine to do.
    if (this.worker || this.db.dialect !== 'sqlite') return;
    const connection = this.db.connection;
    const entry = resolveWorkerEntry(__dirname, 'src/common/database', 'wal-checkpoint.worker.js');
    if (!entry || connection.memory || String(connection.pragma('journal_mode', { simple: true })) !== 'wal') {
      this.logger.warn({ built: !!entry }, 'WAL checkpoints stay on the engine connection (no worker entry, or not a WAL file)');
      return;
    }
    this.stopping = false;
    const worker = new Worker(entry, { workerData: { file: connection.name } satisfies CheckpointWorkerData });
    this.intervalMs = intervalMs;
    this.worker = worker;
    // Stopped explicitly at shutdown; never the thing that keeps a process alive.
    worker.unref();
    worker.on('message', (msg: CheckpointMessage) => this.onMessage(msg));
    worker.on('error', (err) => {
      this.db.counters.wal_checkpoint_errors += 1;
      this.logger.error({ err }, 'WAL checkpoint worker failed');
    });
    worker.once('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.ready = false;
      void this.jobs.stop(WAL_CHECKPOINT_JOB);
      this.answered();
      this.restoreInlineCheckpoints();
      if (!this.stopping) this.logger.error({ code }, 'WAL checkpoint worker exited: checkpoints are back on the engine connection');
    });
  }

  private onMessage(msg: CheckpointMessage): void {
    if (msg.type === 'ready') {
      this.ready = true;
      // Only now: until the worker checkpoints, the connection keeps doing it itself.
      if (!this.stopping) {
        this.db.connection.pragma(`wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
        this.jobs.register(WAL_CHECKPOINT_JOB, { intervalMs: this.intervalMs, run: () => this.tick() });
      }
      return;
    }
    this.answered();
    if (msg.type === 'checkpoint') {
      // Progress only: a tick a reader held back, or that found nothing new, is not a checkpoint.
      if (msg.progressed && !msg.busy) this.db.counters.wal_checkpoints += 1;
    } else {
      this.db.counters.wal_checkpoint_errors += 1;
      // Every 250 ms on a full disk: say so once a minute, or when the reason changes.
      const now = Date.now();
      if (msg.message !== this.lastError || now - this.lastErrorLoggedAt >= ERROR_LOG_EVERY_MS) {
        this.logger.warn({ reason: msg.message, errors: this.db.counters.wal_checkpoint_errors }, 'WAL checkpoint failed; retried on the next tick');
        this.lastError = msg.message;
        this.lastErrorLoggedAt = now;
      }
    }
  }

  /** One job run: asks the worker for a checkpoint and ends with its answer (or its exit). */
  private tick(): Promise<void> | undefined {
    const worker = this.worker;
    if (!worker || !this.ready || this.stopping) return undefined;
    return new Promise<void>((resolve) => {
      this.answer = resolve;
      worker.postMessage(TICK);
    });
  }

  private answered(): void {
    const answer = this.answer;
    this.answer = undefined;
    answer?.();
  }

  /** Stops the worker (bounded); the connection checkpoints by itself again from here on. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.stopping = true;
    this.restoreInlineCheckpoints();
    // No tick after this; the one in flight is answered (or ends with the worker).
    void this.jobs.stop(WAL_CHECKPOINT_JOB);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage(STOP);
    if (!(await settledWithin(exited, STOP_TIMEOUT_MS))) await worker.terminate();
    await exited;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  private restoreInlineCheckpoints(): void {
    const connection = this.db.connection;
    if (connection.open) connection.pragma(`wal_autocheckpoint = ${SPEC_WAL_AUTOCHECKPOINT}`);
  }
}
