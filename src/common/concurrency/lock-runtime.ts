import { Logger } from '@nestjs/common';
import type { OrderedLock } from './ordered-lock';
import { ContentionProfiler } from './contention-profiler';
import { DeadlockDetector, type DeadlockDetectorOptions } from './deadlock-detector';
import { DeadlockError, LockOrderViolationError } from './concurrency.errors';
import { type Hold, HoldState } from './hold';

export type LockOrderMode = 'throw' | 'log';

/** The subset of Nest's LoggerService the lock machinery writes to. */
export interface LockLogger {
  warn(message: string): void;
  error(message: string): void;
}

export interface OrderViolationReport {
  at: string;
  task: string;
  held: string;
  heldOrder: number;
  attempted: string;
  attemptedOrder: number;
  stack?: string;
}

export interface LockRuntimeOptions extends DeadlockDetectorOptions {
  /** 'throw' (dev, tests) or 'log' (production: log, count, proceed). Default from LOCK_ORDER_MODE, else by NODE_ENV. */
  orderMode?: LockOrderMode;
  /** Capture acquisition stacks for long-hold reports. Default: LOCK_DEBUG=1. */
  debug?: boolean;
  logger?: LockLogger;
  /** Monotonic clock in ms; tests may inject one. */
  now?: () => number;
}

/**
 * Shared policy and instrumentation of every lock of one manager: hierarchy
 * checks, profiler, detector, clock and logger.
 */
export class LockRuntime {
  orderMode: LockOrderMode;
  debug: boolean;
  readonly logger: LockLogger;
  readonly now: () => number;
  readonly profiler = new ContentionProfiler();
  readonly detector: DeadlockDetector;
  private readonly violations: OrderViolationReport[] = [];
  private readonly reportLimit: number;

  constructor(options: LockRuntimeOptions, locks: () => Iterable<OrderedLock>) {
    this.orderMode = options.orderMode ?? defaultOrderMode();
    this.debug = options.debug ?? process.env.LOCK_DEBUG === '1';
    this.logger = options.logger ?? new Logger('LockManager');
    this.now = options.now ?? (() => performance.now());
    this.reportLimit = options.reportLimit ?? 50;
    this.detector = new DeadlockDetector(
      {
        now: this.now,
        locks,
        warn: (m) => this.logger.warn(m),
        error: (m) => this.logger.error(m),
      },
      options,
    );
  }

  /**
   * Validates taking `lock` from a context whose innermost hold is `top` and
   * returns the innermost live hold (the new hold's parent). Re-taking a held
   * lock is a guaranteed hang, so it throws in every mode.
   */
  checkOrder(lock: OrderedLock, top: Hold | undefined): Hold | undefined {
    let innermost: Hold | undefined;
    for (let hold = top; hold; hold = hold.parent) {
      if (hold.state !== HoldState.Held) continue;
      if (hold.lock === lock) throw this.selfDeadlock(hold);
      innermost ??= hold;
    }
    if (innermost && lock.order <= innermost.lock.order) this.violation(lock, innermost);
    return innermost;
  }

  recentViolations(): OrderViolationReport[] {
    return [...this.violations];
  }

  private violation(lock: OrderedLock, held: Hold): void {
    this.profiler.recordViolation(held.lock.family, lock.family);
    const report: OrderViolationReport = {
      at: new Date().toISOString(),
      task: held.task.name,
      held: held.lock.name,
      heldOrder: held.lock.order,
      attempted: lock.name,
      attemptedOrder: lock.order,
    };
    if (this.debug) report.stack = new Error('lock order violation').stack;
    this.violations.push(report);
    if (this.violations.length > this.reportLimit) this.violations.shift();
    const error = new LockOrderViolationError(
      { lock: lock.name, order: lock.order },
      { lock: held.lock.name, order: held.lock.order },
    );
    if (this.orderMode === 'throw') throw error;
    this.logger.warn(`${error.message} (task ${held.task.name}; LOCK_ORDER_MODE=log, proceeding)`);
  }

  private selfDeadlock(held: Hold): DeadlockError {
    const cycle = [{ task: held.task.name, waitsFor: held.lock.name, heldBy: held.task.name }];
    const message =
      `Self-deadlock: ${held.task.name} already holds "${held.lock.name}" and tried to acquire it ` +
      'again in the same async context';
    held.lock.stats.deadlocks++;
    this.detector.recordDeadlock(held, message, cycle);
    return new DeadlockError(message, cycle);
  }
}

function defaultOrderMode(): LockOrderMode {
  const fromEnv = process.env.LOCK_ORDER_MODE;
  if (fromEnv === 'throw' || fromEnv === 'log') return fromEnv;
  return process.env.NODE_ENV === 'production' ? 'log' : 'throw';
}
