export * from './concurrency.errors';
export * from './lock-order.enum';
export { ConcurrencyModule, type ConcurrencyModuleOptions } from './concurrency.module';
export {
  LockManager,
  LOCK_MANAGER_OPTIONS,
  type CatalogLock,
  createLockManager,
  type LockManagerOptions,
  type LockOptions,
} from './lock-manager.service';
export type { HeldLockInfo, LockReport, WaitingLockInfo } from './lock-report';
export { type LockLogger, type LockOrderMode, type OrderViolationReport } from './lock-runtime';
export { withLock, withLocks, type KeyedLockCallOptions, type Lockable, type LockRequest } from './with-lock';
export { WithLock, type WithLockOptions } from './with-lock.decorator';
export { InjectLock, lockProviders, lockToken, STANDARD_LOCKS } from './lock-providers';
export { runInTask, heldLocks, detached, RequestScope } from './lock-context';
export {
  SessionSerializer,
  SESSION_SERIALIZER_OPTIONS,
  type SessionSerializerOptions,
  type SessionSerializerStats,
  type SessionTurn,
} from './session-serializer';
export type { OrderedLock, LockMode, LockCallOptions, AcquireOptions, Releaser } from './ordered-lock';
export type { Mutex } from './mutex';
export type { RwLock } from './rw-lock';
export type { Semaphore } from './semaphore';
export type { KeyedLock } from './keyed-lock';
export type { ContentionRow, SampleSummary, OrderViolationCount } from './contention-profiler';
export type { DeadlockReport, LongHoldReport } from './deadlock-detector';
