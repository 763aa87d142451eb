import { Hold } from './hold';
import type { LockOrder } from './lock-order.enum';
import type { LockCallOptions, OrderedLock, Releaser } from './ordered-lock';

export type KeyedLockKind = 'keyed-mutex' | 'keyed-rw';

/**
 * One lock per key (session id, player, macro name), created on first use and
 * dropped as soon as it has neither holders nor waiters, so a long-running
 * server with millions of distinct keys keeps only the busy ones. An entry can
 * only be dropped when idle, and lookups always go through the map, so two
 * flows can never end up on different lock objects for the same key.
 */
export class KeyedLock<L extends OrderedLock = OrderedLock> {
  private readonly entries = new Map<string, L>();

  constructor(
    readonly name: string,
    readonly order: LockOrder,
    readonly kind: KeyedLockKind,
    /** Default wait bound of every entry. */
    readonly timeoutMs: number,
    private readonly create: (key: string) => L,
  ) {}

  /** Number of live entries (held or waited for). */
  get size(): number {
    return this.entries.size;
  }

  /** Low-level, for this folder only; see OrderedLock.acquire. */
  async acquire(key: string, options?: LockCallOptions): Promise<Releaser> {
    const pending = this.acquireHold(key, options?.mode !== 'read', options);
    const hold = pending instanceof Hold ? pending : await pending;
    return () => hold.release();
  }

  /** @internal */
  acquireHold(key: string, write: boolean, options: LockCallOptions | undefined): Hold | Promise<Hold> {
    // Refused before it ever queued (abort, order violation, try-lock): the fresh entry is reclaimed.
    return this.withEntry(key, (entry) => entry.acquireHold(write, options));
  }

  /** @internal See OrderedLock.tryAcquireHold; a busy key is left as it was. */
  tryAcquireHold(key: string, write: boolean): Hold | undefined {
    return this.withEntry(key, (entry) => entry.tryAcquireHold(write));
  }

  /** Runs `take` on the key's entry, made if missing and reclaimed again if `take` left it idle. */
  private withEntry<T>(key: string, take: (entry: L) => T): T {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = this.create(key);
      entry.onIdle = this.reclaim;
      this.entries.set(key, entry);
    }
    try {
      return take(entry);
    } finally {
      if (entry.idle) this.reclaim(entry);
    }
  }

  /** Waiters queued on `key` (0 when nobody holds it). */
  queueDepth(key: string): number {
    return this.entries.get(key)?.waiters.size ?? 0;
  }

  /** Live entries, for reports. */
  locks(): IterableIterator<L> {
    return this.entries.values();
  }

  private readonly reclaim = (entry: OrderedLock): void => {
    const key = entry.key as string;
    if (this.entries.get(key) === entry) this.entries.delete(key);
  };
}
