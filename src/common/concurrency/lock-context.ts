import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { Hold, HoldState, Task } from './hold';

/**
 * The async analogue of a thread-local lock stack (docs/architecture.md §13.1). The store
 * is the innermost Hold (whose `parent` chain is the rest of the stack) or a
 * named Task with no lock of its own. Stores are never mutated: entering a lock
 * runs the guarded code in a new scope (`als.run`), so sibling async flows
 * never see each other's locks.
 */
export type LockScope = Hold | Task;

/** @internal Only the concurrency folder enters scopes. */
export const lockScope = new AsyncLocalStorage<LockScope>();

/** @internal The innermost hold of a scope, live or already released. */
export function scopeHold(scope: LockScope | undefined): Hold | undefined {
  if (scope === undefined) return undefined;
  return scope instanceof Hold ? scope : scope.base;
}

/**
 * Runs `fn` as a named task: locks taken inside are reported under this name
 * (deadlock cycles, long holds, waiters). Locks already held stay held.
 */
export function runInTask<T>(name: string, fn: () => T): T {
  return lockScope.run(new Task(name, scopeHold(lockScope.getStore())), fn);
}

/**
 * The lock scope of one HTTP request: everything the request's pipeline runs (guards, pipes,
 * the handler, the reply) runs in it, and once the request's session turn is granted the
 * scope adopts it, so every lock taken afterwards anywhere in the request nests under SESSION
 * (hierarchy checks, wait-for graph) — without wrapping the handler in a scope of its own.
 */
export class RequestScope {
  private readonly task: Task;

  constructor(name: string) {
    this.task = new Task(name);
  }

  get name(): string {
    return this.task.name;
  }

  run<T>(fn: () => T): T {
    return lockScope.run(this.task, fn);
  }

  /** @internal The session turn (SessionSerializer) becomes the base of the request's lock stack; once. */
  adopt(hold: Hold): void {
    if (this.task.base !== undefined) throw new Error(`${this.task.name} already holds ${this.task.base.lock.name}`);
    this.task.base = hold;
  }

  /** The hold this request adopted, if any (for assertions and reports). */
  get adopted(): Hold | undefined {
    return this.task.base;
  }
}

/** Created at load, outside any lock scope: running in it means holding nothing. */
const outsideAnyScope = new AsyncResource('lock-scope:detached');

/**
 * Runs `fn` outside any lock scope: for background work started from inside a request or a
 * held lock (a deferred flush, a PDCA cycle, a macro execution) that must not inherit the
 * caller's held locks — timers, immediates and promises carry the async context along.
 */
export function detached<T>(fn: () => T): T {
  return outsideAnyScope.runInAsyncScope(fn);
}

/** Locks held by the current async context, outermost first (for logs and assertions). */
export function heldLocks(): string[] {
  const names: string[] = [];
  for (let hold = scopeHold(lockScope.getStore()); hold; hold = hold.parent) {
    if (hold.state === HoldState.Held) names.push(hold.lock.name);
  }
  return names.reverse();
}
