import { Hold } from './hold';
import type { LockOrder } from './lock-order.enum';
import type { LockCallOptions, OrderedLock, Releaser } from './ordered-lock';

export type KeyedLockKind = 'keyed-mutex' | 'keyed-rw';

/** Entries a keyed family may hold before it first sweeps its idle ones, and its floor after (see KeyedLock). */
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
 * entries it had busy at once, or RETAINED_IDLE_ENTRIES if that is more.
 * Lookups always go through the map and only idle entries are swept, so two
 * flows can never end up on different lock objects for the same key.
 */
export class KeyedLock<L extends OrderedLock = OrderedLock> {
  private readonly entries = new Map<string, L>();
  private sweepAt = RETAINED_IDLE_ENTRIES;

  constructor(
    readonly name: string,
    readonly order: LockOrder,
    readonly kind: KeyedLockKind,
    /** Default wait bound of every entry. */
    readonly timeoutMs: number,
    private readonly create: (key: string) => L,
  ) {}

  /** Number of live entries (held or waited for), counted: for reports, not the request path. */
  get size(): number {
    let busy = 0;
    for (const entry of this.entries.values()) if (!entry.idle) busy += 1;
    return busy;
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

  /** Runs `take` on the key's entry, made if missing. */
  private withEntry<T>(key: string, take: (entry: L) => T): T {
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.sweepAt) this.sweep();
      entry = this.create(key);
      this.entries.set(key, entry);
    }
    return take(entry);
  }

  /** Waiters queued on `key` (0 when nobody holds it). */
  queueDepth(key: string): number {
    return this.entries.get(key)?.waiters.size ?? 0;
  }

  /** Live entries (held or waited for), for reports. */
  *locks(): IterableIterator<L> {
    for (const entry of this.entries.values()) if (!entry.idle) yield entry;
  }

  /** Drops every idle entry; the next sweep comes once the map has doubled again (amortised O(1) a key). */
  private sweep(): void {
    for (const [key, entry] of this.entries) if (entry.idle) this.entries.delete(key);
    this.sweepAt = Math.max(RETAINED_IDLE_ENTRIES, 2 * this.entries.size);
  }
}
