import type { ContentionRow, OrderViolationCount } from './contention-profiler';
import type { DeadlockReport, LongHoldReport } from './deadlock-detector';
import type { LockKind } from './lock-order.enum';
import type { LockOrderMode, LockRuntime, OrderViolationReport } from './lock-runtime';
import type { OrderedLock } from './ordered-lock';

export interface HeldLockInfo {
  lock: string;
  kind: LockKind;
  order: number;
  mode: 'read' | 'write';
  task: string;
  taskId: number;
  heldMs: number;
  stack?: string;
}

export interface WaitingLockInfo {
  lock: string;
  mode: 'read' | 'write';
  task: string;
  taskId: number;
  waitingMs: number;
  /** 0 = next in line. */
  position: number;
}

/** Plain-JSON payload of `GET /api/v1/admin/locks`. */
export interface LockReport {
  generatedAt: string;
  orderMode: LockOrderMode;
  debug: boolean;
  held: HeldLockInfo[];
  waiting: WaitingLockInfo[];
  /** True when `held` or `waiting` was cut at the listing limit. */
  truncated: boolean;
  contention: ContentionRow[];
  deadlocks: DeadlockReport[];
  longHolds: LongHoldReport[];
  orderViolations: {
    total: number;
    byPair: OrderViolationCount[];
    recent: OrderViolationReport[];
  };
}

/** Caps the held/waiting listings; the contention table is always complete. */
const REPORT_LISTING_LIMIT = 1000;

/** Snapshot of every lock of a manager, as plain JSON. */
export function buildLockReport(runtime: LockRuntime, locks: Iterable<OrderedLock>): LockReport {
  const now = runtime.now();
  const held: HeldLockInfo[] = [];
  const waiting: WaitingLockInfo[] = [];
  let truncated = false;
  for (const lock of locks) {
    for (const hold of lock.holders) {
      if (held.length >= REPORT_LISTING_LIMIT) {
        truncated = true;
        break;
      }
      const info: HeldLockInfo = {
        lock: lock.name,
        kind: lock.kind,
        order: lock.order,
        mode: hold.mode,
        task: hold.task.name,
        taskId: hold.task.id,
        heldMs: round(now - hold.acquiredAt),
      };
      if (hold.stack) info.stack = hold.stack;
      held.push(info);
    }
    let position = 0;
    for (const waiter of lock.waiters) {
      if (waiting.length >= REPORT_LISTING_LIMIT) {
        truncated = true;
        break;
      }
      waiting.push({
        lock: lock.name,
        mode: waiter.mode,
        task: waiter.task.name,
        taskId: waiter.task.id,
        waitingMs: round(now - waiter.requestedAt),
        position: position++,
      });
    }
  }
  const { detector, profiler } = runtime;
  return {
    generatedAt: new Date().toISOString(),
    orderMode: runtime.orderMode,
    debug: runtime.debug,
    held,
    waiting,
    truncated,
    contention: profiler.table(),
    deadlocks: detector.recentDeadlocks(),
    longHolds: detector.recentLongHolds(),
    orderViolations: {
      total: profiler.violationTotal,
      byPair: profiler.violationCounts(),
      recent: runtime.recentViolations(),
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
