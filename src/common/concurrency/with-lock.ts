import { Hold } from './hold';
import { KeyedLock } from './keyed-lock';
import { lockScope } from './lock-context';
import type { AcquireOptions, LockCallOptions, LockMode, OrderedLock } from './ordered-lock';

/** Anything `withLock` can take: a single lock or a keyed family (with `key`). */
export type Lockable = OrderedLock | KeyedLock;

export interface KeyedLockCallOptions extends LockCallOptions {
  key: string;
}

/**
 * The one way application code takes a lock: acquires it (bounded wait,
 * hierarchy-checked against the caller's async context), runs `fn` with the
 * lock pushed on that context's held-lock stack, and releases in `finally`.
 */
export function withLock<T>(lock: OrderedLock, fn: () => T | PromiseLike<T>, options?: LockCallOptions): Promise<T>;
export function withLock<T>(lock: KeyedLock, fn: () => T | PromiseLike<T>, options: KeyedLockCallOptions): Promise<T>;
export function withLock<T>(
  lock: Lockable,
  fn: () => T | PromiseLike<T>,
  options?: LockCallOptions & { key?: string },
): Promise<T>;
export async function withLock<T>(
  lock: Lockable,
  fn: () => T | PromiseLike<T>,
  options?: LockCallOptions & { key?: string },
): Promise<T> {
  const write = options?.mode !== 'read';
  let pending: Hold | Promise<Hold>;
  if (lock instanceof KeyedLock) {
    const key = options?.key;
    if (typeof key !== 'string') throw new TypeError(`Keyed lock "${lock.name}" needs a string key`);
    pending = lock.acquireHold(key, write, options);
  } else {
    if (options?.key !== undefined) throw new TypeError(`Lock "${lock.name}" is not keyed; drop the key`);
    pending = lock.acquireHold(write, options);
  }
  // Awaiting only when we had to queue saves a microtask on the fast path.
  const hold = pending instanceof Hold ? pending : await pending;
  try {
    return await lockScope.run(hold, fn);
  } finally {
    hold.release();
  }
}

export interface LockRequest {
  lock: Lockable;
  mode?: LockMode;
  key?: string;
}

/**
 * Takes several locks in hierarchy order (sorted by `order`, so callers cannot
 * get the nesting wrong), runs `fn`, releases in reverse. Two locks of the same
 * level still violate the hierarchy: they must never be held together.
 */
export function withLocks<T>(
  requests: readonly LockRequest[],
  fn: () => T | PromiseLike<T>,
  options?: AcquireOptions,
): Promise<T> {
  const sorted = [...requests].sort((a, b) => a.lock.order - b.lock.order);
  const step = async (i: number): Promise<T> => {
    if (i === sorted.length) return fn();
    const { lock, mode, key } = sorted[i];
    return withLock(lock, () => step(i + 1), { ...options, mode, key });
  };
  return step(0);
}
