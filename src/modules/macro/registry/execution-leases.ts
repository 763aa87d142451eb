import type { MacroLocks } from '../macro-locks';
import { MacroNotFoundError, MacroReloadUnavailableError, MacroRetiredError } from '../macro.errors';
import { type Catalog, callClosure, findEntry, type MacroEntry } from './catalog';

/** An execution's hold on its macro and everything it calls. */
export interface ExecutionLease {
  readonly catalog: Catalog;
  readonly entry: MacroEntry;
  /** Macros whose read lock is held (the macro and its static call closure). */
  readonly names: readonly string[];
  release(): void;
}

/** Per-macro counts of the executions holding it and of the reloads waiting for it. */
export class LockActivity {
  private readonly active = new Map<string, number>();
  private readonly reloading = new Map<string, number>();

  executions(name: string): number {
    return this.active.get(name) ?? 0;
  }

  runningIn(names: readonly string[]): number {
    return names.reduce((n, name) => n + this.executions(name), 0);
  }

  reloadPending(name: string): boolean {
    return (this.reloading.get(name) ?? 0) > 0;
  }

  executing(names: readonly string[], delta: 1 | -1): void {
    adjust(this.active, names, delta);
  }

  reloadWaiting(names: readonly string[], delta: 1 | -1): void {
    adjust(this.reloading, names, delta);
  }
}

function adjust(map: Map<string, number>, names: readonly string[], delta: number): void {
  for (const n of names) {
    const v = (map.get(n) ?? 0) + delta;
    if (v <= 0) map.delete(n);
    else map.set(n, v);
  }
}

/**
 * Takes the read locks of `name` and of every macro it calls (statically), waiting for a reload
 * in progress (bounded). The returned catalog is the one the execution runs on: it cannot change
 * for the held macros until the lease is released.
 */
export async function acquireExecutionLease(
  locks: MacroLocks,
  activity: LockActivity,
  catalog: () => Catalog,
  name: string,
  options: { signal: AbortSignal; task: string; timeoutMs: number },
): Promise<ExecutionLease> {
  let keys = new Set<string>();
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = catalog();
    assertExecutable(before, name);
    for (const n of callClosure(name, before)) keys.add(n);
    const release = await locks.acquire(keys, 'read', { timeoutMs: options.timeoutMs, signal: options.signal, task: options.task });
    const cat = catalog();
    const closure = callClosure(name, cat);
    if (closure.every((n) => keys.has(n))) {
      const entry = findEntry(cat.macros, name);
      if (!entry || entry.retiring) {
        release();
        assertExecutable(cat, name);
      }
      const names = [...keys];
      activity.executing(names, 1);
      let released = false;
      return {
        catalog: cat,
        entry: entry!,
        names,
        release: () => {
          if (released) return;
          released = true;
          activity.executing(names, -1);
          release();
        },
      };
    }
    // A reload changed the call graph between the look and the locks: take the new closure too.
    release();
    keys = new Set([...keys, ...closure]);
  }
  throw new MacroReloadUnavailableError(`The call graph of macro "${name}" kept changing; try again`);
}

function assertExecutable(cat: Catalog, name: string): void {
  const entry = findEntry(cat.macros, name);
  if (!entry) throw new MacroNotFoundError(name);
  if (entry.retiring) throw new MacroRetiredError(name);
}
