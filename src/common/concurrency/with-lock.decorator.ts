import 'reflect-metadata';
import { getDefaultLockManager, type LockManager } from './lock-manager.service';
import type { LockMode } from './ordered-lock';
import { type Lockable, withLock } from './with-lock';

export interface WithLockOptions<A extends unknown[]> {
  /** For RW locks; default 'write'. */
  mode?: LockMode;
  /** Overrides the lock's wait bound for this method. */
  timeoutMs?: number;
  /** Required for keyed families: picks the key from the method's arguments. */
  key?: (...args: A) => string;
  /** Optional: picks an AbortSignal (e.g. the request's) from the method's arguments. */
  signal?: (...args: A) => AbortSignal | undefined;
}

type AsyncMethod<A extends unknown[]> = (...args: [...A, ...never[]]) => Promise<unknown>;

/**
 * Method form of `withLock`: the lock (or keyed family) is looked up by name
 * in the active LockManager on first call, the method body runs under it and
 * the lock is released in `finally`. The method must return a promise.
 *
 *   @WithLock(LockName.STATE, { mode: 'write', key: (sessionId: string) => sessionId })
 *   async update(sessionId: string, patch: StatePatch) { ... }
 */
export function WithLock<A extends unknown[] = never[]>(name: string, options: WithLockOptions<A> = {}) {
  return function <M extends AsyncMethod<A>>(
    _target: object,
    property: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void {
    const original = descriptor.value as unknown as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof original !== 'function') {
      throw new TypeError(`@WithLock("${name}") can only decorate methods (${String(property)})`);
    }
    const { mode, timeoutMs, key, signal } = options;
    // Resolved once per manager: the name lookup stays off the hot path.
    let resolved: { manager: LockManager; lock: Lockable } | undefined;

    const wrapped = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const manager = getDefaultLockManager();
      if (resolved?.manager !== manager) resolved = { manager, lock: manager.resolve(name) };
      return withLock(resolved.lock, () => original.apply(this, args), {
        mode,
        timeoutMs,
        key: key?.(...(args as A)),
        signal: signal?.(...(args as A)),
      });
    };

    // Keep what other decorators (Nest routes, guards, swagger) attached to the original.
    for (const metaKey of Reflect.getMetadataKeys(original)) {
      Reflect.defineMetadata(metaKey, Reflect.getMetadata(metaKey, original), wrapped);
    }
    Object.defineProperty(wrapped, 'name', { value: original.name });
    descriptor.value = wrapped as unknown as M;
  };
}
