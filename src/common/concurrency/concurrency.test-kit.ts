/**
 * Helpers for the concurrency unit specs (no jest dependency, so it also
 * type-checks in the build). Not exported from the barrel.
 */
import type { LockLogger } from './lock-runtime';

/**
 * Resolves after every microtask queued so far (and those they queue) has run:
 * a macrotask boundary. Deterministic for promise chains that do not wait on
 * timers; keep setImmediate out of jest's fake timers when using it.
 */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface Tracked<T> {
  readonly promise: Promise<T>;
  settled: boolean;
  fulfilled: boolean;
  value: T | undefined;
  error: unknown;
}

/** Observes a promise's outcome synchronously (for "has it been granted yet?" assertions). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { promise, settled: false, fulfilled: false, value: undefined, error: undefined };
  promise.then(
    (value) => {
      tracked.settled = true;
      tracked.fulfilled = true;
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.settled = true;
      tracked.error = error;
    },
  );
  return tracked;
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A logger that keeps messages for assertions instead of printing them. */
export class RecordingLogger implements LockLogger {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];

  warn(message: string): void {
    this.warnings.push(message);
  }

  error(message: string): void {
    this.errors.push(message);
  }
}

export function times<T>(n: number, make: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => make(i));
}
