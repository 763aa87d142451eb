import type { LockStats } from './contention-profiler';
import { DeadlockError, type DeadlockEdge, LockAbortedError, LockTimeoutError } from './concurrency.errors';
import { Hold, HoldState, Task } from './hold';
import { IntrusiveList } from './intrusive-list';
import { lockScope, scopeHold } from './lock-context';
import type { LockKind, LockOrder } from './lock-order.enum';
import type { LockRuntime } from './lock-runtime';

export type LockMode = 'read' | 'write';

export interface AcquireOptions {
  /** Overrides the lock's bound for this wait; 0 means "only if free right now". */
  timeoutMs?: number;
  /** Aborting removes the waiter from the queue; an already aborted signal fails at once. */
  signal?: AbortSignal;
}

export interface LockCallOptions extends AcquireOptions {
  /** For RW locks; defaults to 'write' (the safe choice). Exclusive locks ignore it. */
  mode?: LockMode;
}

/** Releases a granted lock; safe to call more than once. */
export type Releaser = () => void;

/** setTimeout clamps larger delays to 1 ms; keep "very long" meaning very long. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Shared machinery of every lock: a strictly FIFO queue of waiters with
 * bounded, abortable waits, hierarchy checks against the caller's async
 * context, wait-for-graph bookkeeping and contention counters. Subclasses only
 * say when a request is compatible with the current holders.
 *
 * The uncontended path is synchronous and allocates one Hold (and, through
 * the public `acquire`, its releaser): no promise, timer or listener.
 */
export abstract class OrderedLock {
  /** Current holders (several for RW readers and semaphores). */
  readonly holders = new IntrusiveList<Hold>();
  /** Waiters in arrival order. */
  readonly waiters = new IntrusiveList<Hold>();

  abstract readonly kind: LockKind;
  /**
   * Whether a single holder that never releases blocks a waiter forever (true
   * for exclusive and RW locks). False for multi-permit semaphores, where any
   * holder's release frees a permit; the deadlock detector needs the difference.
   */
  abstract readonly anyHolderBlocks: boolean;

  constructor(
    protected readonly runtime: LockRuntime,
    /** Registry name; keyed entries share it with their family. */
    readonly family: string,
    readonly order: LockOrder,
    /** Default wait bound of this lock. */
    readonly timeoutMs: number,
    /** Stats shared by a whole keyed family. */
    readonly stats: LockStats,
    readonly key?: string,
  ) {}

  /** Display name: the family, plus `[key]` for keyed entries. Built lazily: most are never printed. */
  get name(): string {
    return this.key === undefined ? this.family : `${this.family}[${this.key}]`;
  }

  /** True when neither held nor waited for. */
  get idle(): boolean {
    return this.holders.size === 0 && this.waiters.size === 0;
  }

  /** Whether a request of this mode is compatible with the current holders. */
  protected abstract canTake(write: boolean): boolean;
  protected onTake(_write: boolean): void {}
  protected onGive(_write: boolean): void {}

  /**
   * Low-level acquisition, for this folder only: application code goes through
   * `withLock` / `@WithLock`, which also run the guarded code in the lock's
   * async scope and release in `finally`.
   */
  async acquire(options?: LockCallOptions): Promise<Releaser> {
    const pending = this.acquireHold(options?.mode !== 'read', options);
    const hold = pending instanceof Hold ? pending : await pending;
    return () => hold.release();
  }

  /**
   * @internal Returns the Hold synchronously when the lock is free (no
   * promise on the fast path), else a promise. Throws synchronously on abort,
   * hierarchy violation, self-deadlock, try-lock failure or a detected cycle.
   */
  acquireHold(write: boolean, options: AcquireOptions | undefined): Hold | Promise<Hold> {
    const signal = options?.signal;
    if (signal?.aborted) {
      this.stats.aborts++;
      throw new LockAbortedError(this.name, signal.reason);
    }
    const hold = this.newHold(write);
    if (this.wouldGrant(write)) {
      this.grant(hold);
      return hold;
    }
    return this.wait(hold, options?.timeoutMs ?? this.timeoutMs, signal);
  }

  /**
   * @internal Whether a request of this mode is granted at once. Strict FIFO: a free lock is
   * only taken directly when nobody is queued, which also keeps a stream of readers from
   * starving a writer.
   */
  wouldGrant(write: boolean): boolean {
    return this.waiters.size === 0 && this.canTake(write);
  }

  /**
   * @internal The Hold when the lock can be taken right now, else undefined with nothing
   * queued or counted (callers fall back to `acquireHold`). Hierarchy checks still apply.
   */
  tryAcquireHold(write: boolean): Hold | undefined {
    if (!this.wouldGrant(write)) return undefined;
    const hold = this.newHold(write);
    this.grant(hold);
    return hold;
  }

  /** A hold for the caller's async scope, checked against the lock hierarchy (throws on a violation). */
  private newHold(write: boolean): Hold {
    const scope = lockScope.getStore();
    const parent = this.runtime.checkOrder(this, scopeHold(scope));
    const hold = new Hold(this, write, scope ? scope.task : new Task(), parent);
    if (this.runtime.debug) hold.stack = new Error(`acquired ${this.name}`).stack;
    return hold;
  }

  /** @internal Called once per hold, by Hold.release(). */
  release(hold: Hold): void {
    this.holders.remove(hold);
    this.onGive(hold.write);
    this.stats.hold.record(this.runtime.now() - hold.acquiredAt);
    if (this.waiters.size > 0) this.drain();
  }

  /** Fails a waiter (timeout, abort); no-op once it was granted or failed. */
  private fail(hold: Hold, error: Error): void {
    if (hold.state !== HoldState.Waiting) return;
    hold.state = HoldState.Failed;
    this.leaveQueue(hold);
    const reject = hold.reject;
    hold.resolve = hold.reject = null;
    reject?.(error);
    // A departed head may have been the only thing blocking those behind it
    // (e.g. readers queued behind a writer that timed out).
    this.drain();
  }

  private wait(hold: Hold, timeoutMs: number, signal: AbortSignal | undefined): Promise<Hold> {
    this.stats.contentions++;
    if (!(timeoutMs > 0)) {
      this.stats.timeouts++;
      throw new LockTimeoutError(this.name, 0, { task: hold.task.name });
    }
    hold.requestedAt = this.runtime.now();
    this.waiters.push(hold);
    const cycle = this.runtime.detector.onWaitStart(hold);
    if (cycle) this.breakDeadlock(hold, cycle);
    return new Promise<Hold>((resolve, reject) => {
      hold.resolve = resolve;
      hold.reject = reject;
      hold.timer = setTimeout(timeOut, Math.min(timeoutMs, MAX_TIMER_MS), hold, timeoutMs);
      if (signal) {
        hold.signal = signal;
        hold.onAbort = () => abort(hold);
        signal.addEventListener('abort', hold.onAbort, { once: true });
      }
    });
  }

  /** Fails the waiter that closed the cycle; the other flows of the cycle go on. */
  private breakDeadlock(hold: Hold, cycle: DeadlockEdge[]): never {
    hold.state = HoldState.Failed;
    this.leaveQueue(hold);
    this.stats.deadlocks++;
    const message =
      'Deadlock: ' +
      cycle.map((e) => `${e.task} waits for "${e.waitsFor}" held by ${e.heldBy}`).join(' -> ') +
      `; failing ${hold.task.name}'s wait for "${this.name}"`;
    this.runtime.detector.recordDeadlock(hold, message, cycle);
    throw new DeadlockError(message, cycle);
  }

  private grant(hold: Hold): void {
    this.onTake(hold.write);
    this.holders.push(hold);
    hold.state = HoldState.Held;
    hold.acquiredAt = this.runtime.now();
    hold.grantSeq = ++this.stats.acquisitions;
  }

  /** Grants from the head while compatible: consecutive readers enter together, order is kept. */
  private drain(): void {
    for (let next = this.waiters.head; next && this.canTake(next.write); next = this.waiters.head) {
      this.leaveQueue(next);
      this.grant(next);
      this.stats.wait.record(next.acquiredAt - next.requestedAt);
      const resolve = next.resolve;
      next.resolve = next.reject = null;
      resolve?.(next);
    }
  }

  private leaveQueue(hold: Hold): void {
    this.waiters.remove(hold);
    if (hold.timer) clearTimeout(hold.timer);
    hold.timer = null;
    if (hold.signal && hold.onAbort) hold.signal.removeEventListener('abort', hold.onAbort);
    hold.signal = null;
    hold.onAbort = null;
    if (hold.parent) this.runtime.detector.onWaitEnd(hold);
  }

  /** @internal */
  timeOut(hold: Hold, timeoutMs: number): void {
    if (hold.state !== HoldState.Waiting) return;
    this.stats.timeouts++;
    this.fail(
      hold,
      new LockTimeoutError(this.name, timeoutMs, {
        task: hold.task.name,
        heldBy: [...this.holders].map((h) => h.task.name),
      }),
    );
  }

  /** @internal */
  abort(hold: Hold): void {
    if (hold.state !== HoldState.Waiting) return;
    this.stats.aborts++;
    this.fail(hold, new LockAbortedError(this.name, hold.signal?.reason));
  }
}

// Module-level callbacks: no closure per waiter for the timer.
function timeOut(hold: Hold, timeoutMs: number): void {
  hold.lock.timeOut(hold, timeoutMs);
}

function abort(hold: Hold): void {
  hold.lock.abort(hold);
}
