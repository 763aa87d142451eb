import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { PeriodicJobs } from '../scheduling';

/** The periodic job that lowers threads started since the last run. */
export const BACKGROUND_THREADS_JOB = 'runtime.background-threads';
/** How often threads started later (libuv's pool, worker threads) are looked for. */
export const BACKGROUND_THREADS_RESCAN_MS = 1_000;
/** The largest nice value Linux has. */
const NICE_MAX = 19;

/** What lowering reads and changes: Linux's /proc and setpriority by default, replaced in tests. */
export interface ThreadTable {
  /** The ids of the process's threads; undefined where they cannot be listed (not Linux). */
  threadIds(): number[] | undefined;
  /** The id of the calling thread. */
  selfId(): number;
  niceOf(threadId: number): number;
  setNice(threadId: number, nice: number): void;
}

/** Linux: a thread id is a valid `who` of getpriority/setpriority and changes that thread alone. */
export const linuxThreadTable: ThreadTable = {
  threadIds() {
    try {
      // A /proc mounted for another PID namespace names other ids than setpriority takes.
      if (fs.readlinkSync('/proc/self') !== String(process.pid)) return undefined;
      return fs.readdirSync('/proc/self/task').map(Number);
    } catch {
      return undefined;
    }
  },
  selfId() {
    // A link to "<pid>/task/<tid>".
    const link = fs.readlinkSync('/proc/thread-self');
    return Number(link.slice(link.lastIndexOf('/') + 1));
  },
  niceOf: (threadId) => os.getPriority(threadId),
  setNice: (threadId, nice) => os.setPriority(threadId, nice),
};

export interface LowerResult {
  /** Threads whose priority was lowered by this call. */
  lowered: number;
  /** Threads whose priority could not be read or changed (refused; not those gone meanwhile). */
  failed: number;
}

/** ESRCH: no such thread any more (Node's SystemError carries it in `info.code`). */
function isGone(err: unknown): boolean {
  const e = err as { code?: unknown; info?: { code?: unknown } } | null;
  return e?.info?.code === 'ESRCH' || e?.code === 'ESRCH';
}

/**
 * Runs every thread of the process but the calling one (the event loop's) at a lower priority:
 * `offset` nice levels below it (capped at 19), so the scheduler hands the core to the event
 * loop whenever it is ready. V8's own threads (concurrent marking, sweeping, optimizing
 * compiles, the scavenger's helpers), libuv's pool and the engine's worker threads (checkpoints,
 * vacuum, training) mostly do work nobody waits for; on a core they share with the loop (a
 * pinned engine) they took it for whole time slices while requests queued: in a cold start's
 * first 10 s the loop's worst stall was 11–31 ms with them at equal priority, 7–16 ms with them
 * 10 levels below (bench/README.md, "Background threads below the event loop"). They still get
 * every cycle the loop leaves, and ~10% of a contended core at 10 levels.
 *
 * A process-wide setting, so the process's owner applies it (`src/main.ts`, BACKGROUND_THREAD_NICE):
 * an engine created inside another program (a test runner, a bench, the boot's rehearsal) leaves
 * that program's threads alone. Only ever lowers: a thread already at the target or below is
 * left alone; offset 0 changes nothing. Where threads cannot be listed (not Linux) it does nothing.
 */
export class BackgroundThreads {
  private readonly logger = new Logger('BackgroundThreads');
  private jobs: PeriodicJobs | undefined;

  constructor(
    private readonly offset: number,
    private readonly table: ThreadTable = linuxThreadTable,
  ) {}

  /**
   * Lowers the threads there now, then, as the periodic job BACKGROUND_THREADS_JOB, every second
   * those started since. Registers no job when off, or when every thread refused (a sandbox's
   * syscall filter: said once, not retried each second).
   */
  start(jobs: PeriodicJobs): void {
    if (this.offset <= 0 || this.jobs) return;
    const { lowered, failed } = this.lowerOthers();
    if (lowered === 0 && failed > 0) {
      this.logger.warn({ failed, nice_offset: this.offset }, "background threads could not be lowered; they keep the event loop's priority");
      return;
    }
    this.logger.debug({ lowered, nice_offset: this.offset }, 'background threads lowered');
    jobs.register(BACKGROUND_THREADS_JOB, { intervalMs: BACKGROUND_THREADS_RESCAN_MS, run: () => this.lowerOthers() });
    this.jobs = jobs;
  }

  async stop(): Promise<void> {
    const jobs = this.jobs;
    this.jobs = undefined;
    await jobs?.stop(BACKGROUND_THREADS_JOB);
  }

  /** Lowers the threads not yet lowered; cheap enough to repeat (one listing, two calls per thread). */
  lowerOthers(): LowerResult {
    const result = { lowered: 0, failed: 0 };
    if (this.offset <= 0) return result;
    const ids = this.table.threadIds();
    if (ids === undefined) return result;
    let self: number;
    let target: number;
    try {
      self = this.table.selfId();
      target = Math.min(NICE_MAX, this.table.niceOf(self) + this.offset);
    } catch {
      return result;
    }
    for (const id of ids) {
      if (id === self) continue;
      try {
        if (this.table.niceOf(id) >= target) continue;
        this.table.setNice(id, target);
        result.lowered += 1;
      } catch (err) {
        // A thread that ended between the listing and the call: nothing to do for it.
        if (!isGone(err)) result.failed += 1;
      }
    }
    return result;
  }
}
