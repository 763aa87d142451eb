import { Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

/**
 * The engine's periodic jobs, each a named interval in Nest's SchedulerRegistry, all started
 * through here so that every one behaves the same way and can be listed
 * (`GET /api/v1/admin/jobs`):
 * - a run still going when the next is due is skipped and counted, never stacked;
 * - an interval of 0 (or less) means disabled: the job is listed, no timer runs;
 * - timers are unref'd unless the job says otherwise (a job never keeps the process alive);
 * - the owner stops its job in its own shutdown hook, where today's order of shutdown puts it,
 *   and may await the run in flight (`stop()` resolves when it has settled).
 *
 * The cost per tick is a flag check, a counter and two clock reads: jobs that run every few
 * milliseconds (the event-loop sampler) pay no more than that, and nothing here runs per request.
 */
export interface PeriodicJobOptions {
  /** Milliseconds between runs; 0 or less: disabled (listed, never run). */
  intervalMs: number;
  /** One run: synchronous, or a promise the next run waits for (skipped while it is pending). */
  run: () => unknown;
  /** Default true: the timer never keeps the process alive. */
  unref?: boolean;
  /** Called with a run's error (thrown or rejected); default: logged as an error with the job's name. */
  onError?: (err: unknown) => void;
}

export interface JobError {
  message: string;
  at: string;
}

export interface JobStatus {
  name: string;
  interval_ms: number;
  /** A timer is running (false: disabled by configuration, or stopped at shutdown). */
  enabled: boolean;
  running: boolean;
  runs: number;
  /** Ticks that came while the previous run was still going (skipped, not stacked). */
  skipped_overlaps: number;
  failures: number;
  last_run_at: string | null;
  last_duration_ms: number | null;
  last_error: JobError | null;
}

export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private runs = 0;
  private skipped = 0;
  private failures = 0;
  /** performance.now() at the last run's start (0: never ran). */
  private lastStart = 0;
  private lastDuration = -1;
  private lastError: JobError | null = null;

  constructor(
    readonly name: string,
    private options: PeriodicJobOptions,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.timer !== undefined;
  }

  get intervalMs(): number {
    return this.options.intervalMs;
  }

  /** Called by PeriodicJobs only: the timer it then registers under the job's name. */
  start(options: PeriodicJobOptions = this.options): NodeJS.Timeout | undefined {
    this.options = options;
    if (this.timer || !(options.intervalMs > 0)) return undefined;
    this.timer = setInterval(this.tick, options.intervalMs);
    if (options.unref !== false) this.timer.unref();
    return this.timer;
  }

  /** Clears the timer; the caller awaits the run in flight if it needs to. */
  clear(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The run in flight, settled (never rejects); undefined when none. */
  settled(): Promise<void> | undefined {
    return this.inFlight;
  }

  /** One tick: exported for fake-timer-free tests; the timer calls exactly this. */
  readonly tick = (): void => {
    if (this.inFlight) {
      this.skipped++;
      return;
    }
    const started = performance.now();
    this.runs++;
    this.lastStart = started;
    let out: unknown;
    try {
      out = this.options.run();
    } catch (err) {
      this.finish(started, err);
      return;
    }
    if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
      const running = Promise.resolve(out as PromiseLike<unknown>).then(
        () => this.finish(started),
        (err: unknown) => this.finish(started, err),
      );
      const tracked: Promise<void> = running.finally(() => {
        if (this.inFlight === tracked) this.inFlight = undefined;
      });
      this.inFlight = tracked;
    } else {
      this.lastDuration = performance.now() - started;
    }
  };

  status(): JobStatus {
    return {
      name: this.name,
      interval_ms: this.options.intervalMs,
      enabled: this.enabled,
      running: this.inFlight !== undefined,
      runs: this.runs,
      skipped_overlaps: this.skipped,
      failures: this.failures,
      last_run_at: this.lastStart === 0 ? null : new Date(performance.timeOrigin + this.lastStart).toISOString(),
      last_duration_ms: this.lastDuration < 0 ? null : Math.round(this.lastDuration * 1000) / 1000,
      last_error: this.lastError,
    };
  }

  private finish(started: number, err?: unknown): void {
    this.lastDuration = performance.now() - started;
    if (err === undefined) return;
    this.failures++;
    this.lastError = { message: err instanceof Error ? err.message : String(err), at: new Date().toISOString() };
    try {
      if (this.options.onError) this.options.onError(err);
      else this.logger.error({ err, job: this.name }, 'periodic job failed');
    } catch {
      // A failing error handler must not turn into an unhandled rejection of the timer.
    }
  }
}

@Injectable()
export class PeriodicJobs implements OnApplicationShutdown {
  private readonly logger = new Logger('PeriodicJobs');
  private readonly jobs = new Map<string, PeriodicJob>();

  constructor(@Optional() private readonly scheduler: SchedulerRegistry = new SchedulerRegistry()) {}

  /** For code built outside Nest's container (unit tests): its own registry. */
  static standalone(): PeriodicJobs {
    return new PeriodicJobs(new SchedulerRegistry());
  }

  /**
   * Starts a job under a stable name. A name already registered and stopped (a job that runs
   * only at times, e.g. while a PDCA cycle runs) starts again with its history kept; one still
   * enabled is an error (two owners of one name).
   */
  register(name: string, options: PeriodicJobOptions): PeriodicJob {
    let job = this.jobs.get(name);
    if (job?.enabled) throw new Error(`Periodic job "${name}" is already registered`);
    job ??= new PeriodicJob(name, options, this.logger);
    this.jobs.set(name, job);
    const timer = job.start(options);
    if (timer) this.scheduler.addInterval(name, timer);
    return job;
  }

  /** Stops the job's timer (kept in the list, disabled); resolves once a run in flight has settled. */
  async stop(name: string): Promise<void> {
    const job = this.jobs.get(name);
    if (!job) return;
    job.clear();
    if (this.scheduler.doesExist('interval', name)) this.scheduler.deleteInterval(name);
    await job.settled();
  }

  /** Stops the job and forgets it (jobs named after something that goes away, e.g. a flag lease). */
  async remove(name: string): Promise<void> {
    await this.stop(name);
    this.jobs.delete(name);
  }

  get(name: string): PeriodicJob | undefined {
    return this.jobs.get(name);
  }

  list(): JobStatus[] {
    return [...this.jobs.values()].map((j) => j.status()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Backstop: owners stop their jobs earlier, in their own hooks; nothing may tick after the app closed. */
  onApplicationShutdown(): void {
    for (const name of this.jobs.keys()) {
      const job = this.jobs.get(name)!;
      if (!job.enabled) continue;
      job.clear();
      if (this.scheduler.doesExist('interval', name)) this.scheduler.deleteInterval(name);
    }
  }
}
