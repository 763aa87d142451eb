import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import type { ContentionRow } from './contention-profiler';
import { KeyedLock } from './keyed-lock';
import {
  LOCK_CATALOG,
  LOCK_TIMEOUTS,
  type LockCatalogEntry,
  type LockKind,
  LockName,
  LockOrder,
  type LockTimeoutClass,
} from './lock-order.enum';
import { buildLockReport, type LockReport } from './lock-report';
import { type LockOrderMode, LockRuntime, type LockRuntimeOptions } from './lock-runtime';
import { Mutex } from './mutex';
import type { OrderedLock } from './ordered-lock';
import { RwLock } from './rw-lock';
import { Semaphore } from './semaphore';
import type { Lockable } from './with-lock';
import { PeriodicJobs } from '../scheduling/periodic-jobs';

export const LOCK_MANAGER_OPTIONS = Symbol('LOCK_MANAGER_OPTIONS');

export interface LockManagerOptions extends LockRuntimeOptions {
  /** Overrides of the wait bounds (docs/architecture.md §2.4) (ms) that locks default to. */
  timeouts?: Partial<Record<LockTimeoutClass, number>>;
}

export interface LockOptions {
  /** This lock's default wait bound; else `critical`, else by level (DATABASE: 30 s), else 5 s. */
  timeoutMs?: number;
  /** Use the critical bound (10 s) for locks with long or variable hold times. */
  critical?: boolean;
}

/**
 * Registry and owner of the engine's locks: creates named locks and keyed
 * families, owns the deadlock detector and the contention profiler, serves the
 * admin report. Works as a Nest provider (ConcurrencyModule) or standalone
 * (`new LockManager(options)`) in unit tests and benchmarks.
 */
@Injectable()
export class LockManager implements OnModuleInit, OnModuleDestroy {
  readonly runtime: LockRuntime;
  private readonly registry = new Map<string, OrderedLock | KeyedLock>();
  private readonly timeouts: Record<LockTimeoutClass, number>;

  constructor(
    @Optional() @Inject(LOCK_MANAGER_OPTIONS) options: LockManagerOptions | null = null,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    const opts = options ?? {};
    this.timeouts = { ...LOCK_TIMEOUTS, ...opts.timeouts };
    this.runtime = new LockRuntime(opts, () => this.allLocks());
  }

  get orderMode(): LockOrderMode {
    return this.runtime.orderMode;
  }

  /** LOCK_ORDER_MODE: 'throw' fails the violating acquisition, 'log' logs, counts and proceeds. */
  setOrderMode(mode: LockOrderMode): void {
    this.runtime.orderMode = mode;
  }

  /** LOCK_DEBUG: capture acquisition stacks (expensive) for long-hold reports. */
  setDebug(debug: boolean): void {
    this.runtime.debug = debug;
  }

  mutex(name: string, order: LockOrder, options?: LockOptions): Mutex {
    return this.register(name, 'mutex', order, options, (timeoutMs, stats) => {
      return new Mutex(this.runtime, name, order, timeoutMs, stats);
    });
  }

  rwLock(name: string, order: LockOrder, options?: LockOptions): RwLock {
    return this.register(name, 'rw', order, options, (timeoutMs, stats) => {
      return new RwLock(this.runtime, name, order, timeoutMs, stats);
    });
  }

  semaphore(name: string, order: LockOrder, permits: number, options?: LockOptions): Semaphore {
    const lock = this.register(name, 'semaphore', order, options, (timeoutMs, stats) => {
      return new Semaphore(this.runtime, name, order, permits, timeoutMs, stats);
    });
    if (lock.permits !== permits) throw new Error(`Semaphore "${name}" already exists with ${lock.permits} permits`);
    return lock;
  }

  keyedMutex(name: string, order: LockOrder, options?: LockOptions): KeyedLock<Mutex> {
    return this.register(name, 'keyed-mutex', order, options, (timeoutMs, stats) => {
      return new KeyedLock(name, order, 'keyed-mutex', timeoutMs, (key) => {
        return new Mutex(this.runtime, name, order, timeoutMs, stats, key);
      });
    });
  }

  keyedRwLock(name: string, order: LockOrder, options?: LockOptions): KeyedLock<RwLock> {
    return this.register(name, 'keyed-rw', order, options, (timeoutMs, stats) => {
      return new KeyedLock(name, order, 'keyed-rw', timeoutMs, (key) => {
        return new RwLock(this.runtime, name, order, timeoutMs, stats, key);
      });
    });
  }

  /**
   * The lock registered under `name`; a standard lock (LockName) that nobody
   * registered yet is created from LOCK_CATALOG (this is what the lock
   * providers of ConcurrencyModule inject). Standard names resolve to their
   * precise type.
   */
  resolve<N extends LockName>(name: N): CatalogLock<N>;
  resolve(name: string): Lockable;
  resolve(name: string): Lockable {
    const existing = this.registry.get(name);
    if (existing) return existing;
    const entry = catalogEntry(name);
    if (!entry) throw new Error(`No lock registered under "${name}"`);
    const options = { timeoutMs: this.timeouts[entry.timeout] };
    switch (entry.kind) {
      case 'mutex':
        return this.mutex(name, entry.order, options);
      case 'rw':
        return this.rwLock(name, entry.order, options);
      case 'keyed-mutex':
        return this.keyedMutex(name, entry.order, options);
      case 'keyed-rw':
        return this.keyedRwLock(name, entry.order, options);
      case 'semaphore':
        throw new Error(`Catalog semaphore "${name}" needs a permit count; register it with semaphore()`);
    }
  }

  /** Starts the periodic long-hold scan (unref'd timer). */
  startMonitoring(): void {
    this.runtime.detector.start(this.jobs);
  }

  stopMonitoring(): void {
    this.runtime.detector.stop();
  }

  onModuleInit(): void {
    this.startMonitoring();
  }

  onModuleDestroy(): void {
    this.stopMonitoring();
  }

  /** Contention table (per lock name; keyed families aggregated), e.g. for Prometheus. */
  contention(): ContentionRow[] {
    return this.runtime.profiler.table();
  }

  /** Holds open now for longer than the long-hold threshold, and that threshold (readiness). */
  longHolds(): { threshold_ms: number; open: Array<{ lock: string; mode: string; task: string; heldMs: number }>; deadlocks_total: number; last_deadlock_at: string | null } {
    const d = this.runtime.detector;
    const deadlocks = d.recentDeadlocks();
    return { threshold_ms: d.longHoldThresholdMs, open: d.openLongHolds(), deadlocks_total: d.deadlockCount, last_deadlock_at: deadlocks.at(-1)?.at ?? null };
  }

  /** Plain-JSON payload of `GET /api/v1/admin/locks`. */
  getReport(): LockReport {
    return buildLockReport(this.runtime, this.allLocks());
  }

  private register<L extends OrderedLock | KeyedLock>(
    name: string,
    kind: LockKind,
    order: LockOrder,
    options: LockOptions | undefined,
    create: (timeoutMs: number, stats: ReturnType<LockRuntime['profiler']['statsFor']>) => L,
  ): L {
    const timeoutMs = options?.timeoutMs ?? this.defaultTimeout(order, options);
    const standard = catalogEntry(name);
    if (standard && (standard.kind !== kind || standard.order !== order)) {
      // resolve() promises the catalog's type for standard names.
      throw new Error(`"${name}" is a standard lock: ${standard.kind}, order ${standard.order}`);
    }
    const existing = this.registry.get(name);
    if (existing) {
      // Get-or-create, so two modules may both declare e.g. the DATABASE lock; a
      // different shape under the same name is a bug, not something to paper over.
      if (existing.kind !== kind || existing.order !== order) {
        throw new Error(`Lock "${name}" is already registered as ${existing.kind} (order ${existing.order})`);
      }
      const existingTimeout = existing.timeoutMs;
      if (options?.timeoutMs !== undefined && existingTimeout !== timeoutMs) {
        throw new Error(`Lock "${name}" is already registered with a ${existingTimeout} ms wait bound`);
      }
      return existing as L;
    }
    const lock = create(timeoutMs, this.runtime.profiler.statsFor(name, kind, order));
    this.registry.set(name, lock);
    return lock;
  }

  private defaultTimeout(order: LockOrder, options: LockOptions | undefined): number {
    if (options?.critical) return this.timeouts.critical;
    return order === LockOrder.DATABASE ? this.timeouts.database : this.timeouts.default;
  }

  private *allLocks(): Iterable<OrderedLock> {
    for (const lock of this.registry.values()) {
      if (lock instanceof KeyedLock) yield* lock.locks();
      else yield lock;
    }
  }
}

/** The type `resolve()` returns for a standard lock name. */
export type CatalogLock<N extends LockName> = LockOfKind<(typeof LOCK_CATALOG)[N]['kind']>;
type LockOfKind<K extends LockKind> = K extends 'mutex'
  ? Mutex
  : K extends 'rw'
    ? RwLock
    : K extends 'semaphore'
      ? Semaphore
      : K extends 'keyed-mutex'
        ? KeyedLock<Mutex>
        : KeyedLock<RwLock>;

function catalogEntry(name: string): LockCatalogEntry | undefined {
  return Object.hasOwn(LOCK_CATALOG, name) ? LOCK_CATALOG[name as LockName] : undefined;
}

/** A standalone manager (no Nest container), e.g. for unit tests and benchmarks. */
export function createLockManager(options: LockManagerOptions = {}): LockManager {
  return new LockManager(options);
}
