import 'reflect-metadata';
import { KeyedLock } from './keyed-lock';
import { OrderedLock } from './ordered-lock';
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

/** Per instance, the locks it was given, by name (found once, on first use). */
const bound = new WeakMap<object, Map<string, Lockable>>();

function lockName(value: unknown): string | undefined {
  if (value instanceof KeyedLock) return value.name;
  if (value instanceof OrderedLock) return value.family;
  return undefined;
}

/** The lock named `name` among the instance's own fields (injected with @InjectLock, or passed to its constructor). */
function injectedLock(instance: object, name: string, where: string): Lockable {
  let locks = bound.get(instance);
  const known = locks?.get(name);
  if (known) return known;
  const found = Object.values(instance).filter((value): value is Lockable => lockName(value) === name);
  if (found.length === 0) {
    throw new Error(`@WithLock("${name}") on ${where}: the instance holds no "${name}" lock — inject it (@InjectLock) or pass it to the constructor`);
  }
  if (new Set(found).size > 1) throw new Error(`@WithLock("${name}") on ${where}: the instance holds several different "${name}" locks`);
  if (!locks) bound.set(instance, (locks = new Map()));
  locks.set(name, found[0]);
  return found[0];
}

/**
 * Method form of `withLock`: the method body runs under the lock named `name` — the one the
 * instance was given through DI (`@InjectLock(name)`, or its constructor in a unit test), not a
 * process-wide registry — and the lock is released in `finally`. The method must return a
 * promise. For a lock around part of a method, call `withLock` on the injected lock instead.
 *
 *   constructor(@InjectLock(LockName.CONFIG) private readonly configLock: CatalogLock<typeof LockName.CONFIG>) {}
 *
 *   @WithLock(LockName.CONFIG)
 *   async reload(): Promise<RuleSet> { ... }
 */
export function WithLock<A extends unknown[] = never[]>(name: string, options: WithLockOptions<A> = {}) {
  return function <M extends AsyncMethod<A>>(
    target: object,
    property: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void {
    const original = descriptor.value as unknown as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof original !== 'function') {
      throw new TypeError(`@WithLock("${name}") can only decorate methods (${String(property)})`);
    }
    const { mode, timeoutMs, key, signal } = options;
    const where = `${(target as { constructor?: { name?: string } }).constructor?.name ?? 'class'}.${String(property)}`;

    const wrapped = function (this: object, ...args: unknown[]): Promise<unknown> {
      let lock: Lockable;
      try {
        lock = injectedLock(this, name, where);
      } catch (err) {
        return Promise.reject(err);
      }
      return withLock(lock, () => original.apply(this, args), {
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
