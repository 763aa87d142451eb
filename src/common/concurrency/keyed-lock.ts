import { Hold } from './hold';
import type { LockOrder } from './lock-order.enum';
import type { LockCallOptions, OrderedLock, Releaser } from './ordered-lock';

export type KeyedLockKind = 'keyed-mutex' | 'keyed-rw';

/** Idle entries a family keeps at least before it sweeps them (beyond twice its busy ones). */
export const RETAINED_IDLE_ENTRIES = 1024;

/**
 * One lock per key (session id, player, macro name), created on first use. An
 * entry that goes idle stays in the map, to be taken again by the key's next
 * request: a farm's bots come back every tick, and dropping and re-adding the
 * entry each time made V8 rehash the long-lived map's table into the old
 * generation on nearly every request (bench/README.md, "Old-generation churn").
 * Idle entries are swept when a new key finds the map at RETAINED_IDLE_ENTRIES
 * entries or at twice what the last sweep left, whichever is more: a
 * long-running server with millions of distinct keys holds at most twice the
 * entries it had busy at once, or RETAINED_IDLE_ENTRIES if that is more. Lookups always go
 * through the map and only idle entries are swept, so two flows can never end
 * up on different lock objects for the same key.
 */
export class KeyedLock<L extends OrderedLock = OrderedLock> {
  private readonly entries = new Map<string, L>();
  /** Entries held or waited for, kept up to date by withEntry and the entries' onIdle. */
  private busy = 0;
  private sweepAt = RETAINED_IDLE_ENTRIES;

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
    return this.busy;
  }

  /** @internal Entries in the map, idle ones included (bounded; see the class comment). */
  get retained(): number {
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
    return this.withEntry(key, (entry) => entry.acquireHold(write, options));
  }

  /** @internal See OrderedLock.tryAcquireHold; a busy key is left as it was. */
  tryAcquireHold(key: string, write: boolean): Hold | undefined {
    return this.withEntry(key, (entry) => entry.tryAcquireHold(write));
  }

  /** Runs `take` on the key's entry, made if missing; counts it busy if `take` left it so. */
  private withEntry<T>(key: string, take: (entry: L) => T): T {
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.sweepAt) this.sweep();
      entry = this.create(key);
      entry.onIdle = this.wentIdle;
      this.entries.set(key, entry);
    }
    try {
      return take(entry);
    } finally {
      if (!entry.counted && !entry.idle) {
        entry.counted = true;
        this.busy += 1;
      }
    }
  }

  /** Waiters queued on `key` (0 when nobody holds it). */
  queueDepth(key: string): number {
    return this.entries.get(key)?.waiters.size ?? 0;
  }

  /** Live entries (held or waited for), for reports. */
  *locks(): IterableIterator<L> {
    for (const entry of this.entries.values()) if (!entry.idle) yield entry;
  }

  private readonly wentIdle = (entry: OrderedLock): void => {
    if (!entry.counted) return;
    entry.counted = false;
    this.busy -= 1;
  };

  /** Drops every idle entry; the next sweep comes once the map has doubled again (amortised O(1) a key). */
  private sweep(): void {
    for (const [key, entry] of this.entries) if (entry.idle) this.entries.delete(key);
    this.sweepAt = Math.max(RETAINED_IDLE_ENTRIES, 2 * this.entries.size);
  }
}
