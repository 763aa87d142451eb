import { detached, type KeyedLock, type LockMode, LockTimeoutError, type RwLock, runInTask, withLock } from '../../common/concurrency';

export interface AcquireKeysOptions {
  /** Bound of the whole acquisition (every key), ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Task name shown in lock reports (`macro-exec:<id>`, `macro-reload:<file>`). */
  task: string;
}

/** Releases every key of a set; idempotent. */
export type ReleaseKeys = () => void;

/**
 * The per-macro MACRO locks (keyed RW family, order 7) taken several at a time.
 *
 * A file reload may change several macros at once and must swap them together; an execution
 * holds the read lock of its macro and of every macro it calls, for its whole run. Two keys of
 * one level must never nest in one async context (the hierarchy refuses it), so each key is
 * held by its own small task through `withLock` — acquired in one global order (sorted by
 * name, all readers and writers alike), which is what makes holding several deadlock-free,
 * exactly like the hierarchy does across levels. The whole acquisition shares one deadline;
 * on failure the keys already held are released.
 *
 * The tasks run detached from the caller's async context (`detached`: holding nothing): an
 * execution started by an HTTP request must not appear to hold that request's SESSION turn,
 * which ends long before the execution does.
 */
export class MacroLocks {
  constructor(readonly family: KeyedLock<RwLock>) {}

  async acquire(keys: Iterable<string>, mode: LockMode, options: AcquireKeysOptions): Promise<ReleaseKeys> {
    const sorted = [...new Set(keys)].sort();
    const deadline = Date.now() + options.timeoutMs;
    const releases: Array<() => void> = [];
    const releaseAll = () => {
      for (const release of releases.splice(0).reverse()) release();
    };
    try {
      for (const key of sorted) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new LockTimeoutError(`${this.family.name}[${key}]`, options.timeoutMs, { task: options.task });
        releases.push(await this.holdOne(key, mode, remaining, options));
      }
    } catch (err) {
      releaseAll();
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      releaseAll();
    };
  }

  /** Number of keys of the family currently held or waited for (tests, reports). */
  get liveKeys(): number {
    return this.family.size;
  }

  private holdOne(key: string, mode: LockMode, timeoutMs: number, options: AcquireKeysOptions): Promise<() => void> {
    return new Promise<() => void>((resolve, reject) => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      detached(() =>
        runInTask(options.task, () =>
          withLock(
            this.family,
            () => {
              resolve(release);
              return held;
            },
            { key, mode, timeoutMs, signal: options.signal },
          ),
        ),
      ).catch(reject);
    });
  }
}
