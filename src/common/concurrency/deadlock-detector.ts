import type { OrderedLock } from './ordered-lock';
import type { DeadlockEdge } from './concurrency.errors';
import { Hold, HoldState } from './hold';
import { PeriodicJobs } from '../scheduling/periodic-jobs';

export interface DeadlockReport {
  at: string;
  message: string;
  /** The waiter that closed the cycle and was failed to break it. */
  failedTask: string;
  failedLock: string;
  cycle: DeadlockEdge[];
}

export interface LongHoldReport {
  at: string;
  lock: string;
  mode: 'read' | 'write';
  task: string;
  heldMs: number;
  /** Acquisition stack, present when LOCK_DEBUG=1. */
  stack?: string;
}

export interface DeadlockDetectorOptions {
  /** How often held locks are scanned for long holds (docs/architecture.md §14: every second). */
  scanIntervalMs?: number;
  /** A hold older than this is reported, once (docs/architecture.md §2.4: 10 s). */
  longHoldThresholdMs?: number;
  /** How many recent deadlock / long-hold reports are kept for the admin endpoint. */
  reportLimit?: number;
}

export interface DetectorHost {
  now(): number;
  locks(): Iterable<OrderedLock>;
  warn(message: string): void;
  error(message: string): void;
}

/** The long-hold scan's periodic job. */
export const LOCK_SCAN_JOB = 'locks.long-hold-scan';

/**
 * Wait-for graph over live holds. Nodes are holds; a waiter depends on the
 * holders of the lock it waits for, and a hold cannot be released while code
 * running under it waits (its `waitersBelow`). A new wait is checked at once:
 * if following those edges leads back to a hold of the waiter's own flow, the
 * wait can never be granted and the new waiter is failed with DeadlockError.
 * A cycle can only appear when a wait starts (a freshly granted hold has no
 * waiters below it yet), so checking at that moment finds every cycle.
 */
export class DeadlockDetector {
  readonly scanIntervalMs: number;
  readonly longHoldThresholdMs: number;
  private readonly reportLimit: number;
  private readonly deadlocks: DeadlockReport[] = [];
  private readonly longHolds: LongHoldReport[] = [];
  private job: { jobs: PeriodicJobs; name: string } | null = null;

  constructor(
    private readonly host: DetectorHost,
    options: DeadlockDetectorOptions = {},
  ) {
    this.scanIntervalMs = options.scanIntervalMs ?? 1_000;
    this.longHoldThresholdMs = options.longHoldThresholdMs ?? 10_000;
    this.reportLimit = options.reportLimit ?? 50;
  }

  /**
   * Registers a waiter and returns the cycle it would close, if any.
   * Top-level waiters (holding nothing) cannot close a cycle and cost nothing.
   */
  onWaitStart(waiter: Hold): DeadlockEdge[] | null {
    let targets: Set<Hold> | null = null;
    for (let hold = waiter.parent; hold; hold = hold.parent) {
      if (hold.state !== HoldState.Held) continue;
      (hold.waitersBelow ??= new Set()).add(waiter);
      (targets ??= new Set()).add(hold);
    }
    return targets ? this.waiterPath(waiter, targets, new Set()) : null;
  }

  onWaitEnd(waiter: Hold): void {
    for (let hold = waiter.parent; hold; hold = hold.parent) hold.waitersBelow?.delete(waiter);
  }

  /** Deadlocks found since start (each failed its newest waiter at once). */
  deadlockCount = 0;

  recordDeadlock(waiter: Hold, message: string, cycle: DeadlockEdge[]): void {
    this.deadlockCount++;
    this.push(this.deadlocks, {
      at: new Date().toISOString(),
      message,
      failedTask: waiter.task.name,
      failedLock: waiter.lock.name,
      cycle,
    });
    this.host.error(message);
  }

  /** Starts the periodic long-hold scan; the timer is unref'd so it never keeps the process alive. */
  start(jobs: PeriodicJobs = PeriodicJobs.standalone(), name: string = LOCK_SCAN_JOB): void {
    if (this.job) return;
    this.job = { jobs, name };
    jobs.register(name, { intervalMs: this.scanIntervalMs, run: () => this.scan() });
  }

  stop(): void {
    if (this.job) void this.job.jobs.stop(this.job.name);
    this.job = null;
  }

  get running(): boolean {
    return this.job !== null;
  }

  /** Holds open now for longer than the long-hold threshold (reported or not yet): what readiness looks at. */
  openLongHolds(): Array<{ lock: string; mode: string; task: string; heldMs: number }> {
    const now = this.host.now();
    const out: Array<{ lock: string; mode: string; task: string; heldMs: number }> = [];
    for (const lock of this.host.locks()) {
      for (const hold of lock.holders) {
        const heldMs = now - hold.acquiredAt;
        if (heldMs > this.longHoldThresholdMs) out.push({ lock: lock.name, mode: hold.mode, task: hold.task.name, heldMs: Math.round(heldMs) });
      }
    }
    return out;
  }

  /** Reports each hold older than the threshold once. */
  scan(): void {
    const now = this.host.now();
    for (const lock of this.host.locks()) {
      for (const hold of lock.holders) {
        const heldMs = now - hold.acquiredAt;
        if (hold.longHoldReported || heldMs <= this.longHoldThresholdMs) continue;
        hold.longHoldReported = true;
        const report: LongHoldReport = {
          at: new Date().toISOString(),
          lock: lock.name,
          mode: hold.mode,
          task: hold.task.name,
          heldMs: Math.round(heldMs),
        };
        if (hold.stack) report.stack = hold.stack;
        this.push(this.longHolds, report);
        this.host.warn(
          `Lock "${report.lock}" (${report.mode}) held by ${report.task} for ${report.heldMs} ms` +
            (report.stack ? `\n${report.stack}` : ''),
        );
      }
    }
  }

  recentDeadlocks(): DeadlockReport[] {
    return [...this.deadlocks];
  }

  recentLongHolds(): LongHoldReport[] {
    return [...this.longHolds];
  }

  /**
   * Path from `waiter` to one of `targets`, or null. Mutex, RW and 1-permit
   * semaphore waiters need every holder gone, so one blocked holder blocks
   * them; a multi-permit semaphore waiter is blocked only if all holders are.
   * `visited` makes this linear; for the all-holders case a revisit counts as
   * "not blocked", which can only miss a cycle (the timeout still bounds it),
   * never invent one.
   */
  private waiterPath(waiter: Hold, targets: Set<Hold>, visited: Set<Hold>): DeadlockEdge[] | null {
    if (visited.has(waiter)) return null;
    visited.add(waiter);
    const lock = waiter.lock;
    let found: DeadlockEdge[] | null = null;
    for (const holder of lock.holders) {
      const rest = this.holdPath(holder, targets, visited);
      if (rest) {
        found ??= [{ task: waiter.task.name, waitsFor: lock.name, heldBy: holder.task.name }, ...rest];
        if (lock.anyHolderBlocks) return found;
      } else if (!lock.anyHolderBlocks) {
        return null;
      }
    }
    return found;
  }

  private holdPath(hold: Hold, targets: Set<Hold>, visited: Set<Hold>): DeadlockEdge[] | null {
    if (targets.has(hold)) return [];
    if (!hold.waitersBelow) return null;
    for (const waiter of hold.waitersBelow) {
      const path = this.waiterPath(waiter, targets, visited);
      if (path) return path;
    }
    return null;
  }

  private push<T>(ring: T[], item: T): void {
    ring.push(item);
    if (ring.length > this.reportLimit) ring.shift();
  }
}
