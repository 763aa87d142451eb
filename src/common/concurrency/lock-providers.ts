import { Inject, type Provider } from '@nestjs/common';
import { LockManager, type CatalogLock } from './lock-manager.service';
import { LOCK_CATALOG, LockName } from './lock-order.enum';

export type { CatalogLock } from './lock-manager.service';

const tokens = new Map<string, symbol>();

/** The DI token of a standard lock of the hierarchy (one provider per LockName). */
export function lockToken(name: LockName): symbol {
  let token = tokens.get(name);
  if (!token) tokens.set(name, (token = Symbol(`lock:${name}`)));
  return token;
}

/**
 * Injects a standard lock of the hierarchy, by its level's name, as the type its catalog entry
 * says (`CatalogLock<typeof LockName.X>`):
 *
 *   constructor(@InjectLock(LockName.MODEL) private readonly modelLock: CatalogLock<typeof LockName.MODEL>) {}
 *
 * A method that runs wholly under it is then `@WithLock(LockName.MODEL, …)`; one that needs it
 * around part of its body calls `withLock(this.modelLock, …)`.
 */
export const InjectLock = (name: LockName) => Inject(lockToken(name));

/** One provider per standard lock: the manager's lock of that name (created from LOCK_CATALOG). */
export function lockProviders(): Provider[] {
  return (Object.values(LockName) as LockName[]).map((name) => ({
    provide: lockToken(name),
    inject: [LockManager],
    useFactory: (locks: LockManager): CatalogLock<typeof name> => locks.resolve(name),
  }));
}

/** The standard lock names, as the catalog has them (for reports and tests). */
export const STANDARD_LOCKS = Object.keys(LOCK_CATALOG) as LockName[];
