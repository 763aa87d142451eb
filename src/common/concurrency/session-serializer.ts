import { Inject, Injectable, Optional } from '@nestjs/common';
import { QueueFullError } from './concurrency.errors';
import { Hold } from './hold';
import type { KeyedLock } from './keyed-lock';
import { lockScope, type RequestScope } from './lock-context';
import { type CatalogLock, LockManager } from './lock-manager.service';
import { InjectLock } from './lock-providers';
import { LockName, LockOrder } from './lock-order.enum';
import type { Mutex } from './mutex';
import type { AcquireOptions } from './ordered-lock';
import type { Semaphore } from './semaphore';

export const SESSION_SERIALIZER_OPTIONS = Symbol('SESSION_SERIALIZER_OPTIONS');

export interface SessionSerializerOptions {
  /** Requests of one session allowed to wait for their turn; the next is refused with QUEUE_FULL. Default 1000. */
  maxQueueDepth?: number;
  /** Turns in flight across all sessions; the rest wait (bounded). Default 100. */
  maxInFlight?: number;
  /** Bound of the whole wait for a turn (session queue + global slot). Default 30 s. */
  timeoutMs?: number;
}

/**
 * A granted turn. Calling it ends the turn (idempotent). `run(fn)` runs `fn`
 * with the SESSION lock on the async context's held-lock stack; `holdFor(scope)`
 * puts it at the base of a request's whole scope instead.
 */
export interface SessionTurn {
  (): void;
  readonly sessionId: string;
  run<T>(fn: () => T): T;
  holdFor(scope: RequestScope): void;
}

export interface SessionSerializerStats {
  /** Turns currently granted (holding a global slot). */
  inFlight: number;
  maxInFlight: number;
  /** Requests that have their session's turn and wait for a global slot. */
  waitingForSlot: number;
  /** Sessions with a request in its turn or queued. */
  activeSessions: number;
  /** Requests queued behind their session's current turn, in total and per session (only sessions with a queue). */
  queued: number;
  queueDepth: Record<string, number>;
  rejectedQueueFull: number;
}

function grantedTurn(sessionId: string, turn: Hold, slot: Hold): SessionTurn {
  const end = (): void => {
    slot.release();
    turn.release();
  };
  return Object.assign(end, {
    sessionId,
    run: <T>(fn: () => T): T => lockScope.run(turn, fn),
    holdFor: (scope: RequestScope): void => scope.adopt(turn),
  });
}

/**
 * Per-session request serialization (docs/architecture.md §3.1): a session's requests get
 * their turn one at a time in arrival order; different sessions run
 * concurrently, at most `maxInFlight` at once.
 *
 * The turn is the SESSION-level keyed mutex (order 2), taken first; the global
 * slot (a semaphore) is taken second, so waiting requests of one busy session
 * never occupy slots other sessions could use.
 *
 * Async context: a granted turn is on nobody's held-lock stack until it is
 * pushed: `turn.run(fn)` runs `fn` under it, and `turn.holdFor(scope)` makes a
 * request's whole RequestScope hold it (the HTTP pipeline's session guard), so
 * that taking e.g. CONFIG inside a request is reported as a violation and the
 * deadlock detector sees the turn as held by the request's flows.
 */
@Injectable()
export class SessionSerializer {
  readonly maxQueueDepth: number;
  readonly maxInFlight: number;
  readonly timeoutMs: number;
  private readonly turns: KeyedLock<Mutex>;
  private readonly slots: Semaphore;
  private rejectedQueueFull = 0;

  constructor(
    private readonly locks: LockManager,
    @Optional() @Inject(SESSION_SERIALIZER_OPTIONS) options: SessionSerializerOptions | null = null,
    @Optional() @InjectLock(LockName.SESSION) turns: CatalogLock<typeof LockName.SESSION> | null = null,
  ) {
    this.maxQueueDepth = options?.maxQueueDepth ?? 1000;
    this.maxInFlight = options?.maxInFlight ?? 100;
    this.timeoutMs = options?.timeoutMs ?? 30_000;
    // The SESSION level's lock (standalone, without DI: the manager's).
    this.turns = turns ?? locks.resolve(LockName.SESSION);
    // Part of the SESSION level: MAX_IN_FLIGHT turns at once, taken with the turn, never nested in it.
    this.slots = locks.semaphore(`${LockName.SESSION}-slots`, LockOrder.SESSION, this.maxInFlight);
  }

  async acquireTurn(sessionId: string, options: AcquireOptions = {}): Promise<SessionTurn> {
    if (this.turns.queueDepth(sessionId) >= this.maxQueueDepth) {
      this.rejectedQueueFull++;
      throw new QueueFullError(`Session ${sessionId} already has ${this.maxQueueDepth} queued requests`, {
        sessionId,
        maxQueueDepth: this.maxQueueDepth,
      });
    }
    const now = this.locks.runtime.now;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = now() + timeoutMs;
    const pendingTurn = this.turns.acquireHold(sessionId, true, { timeoutMs, signal: options.signal });
    const turn = pendingTurn instanceof Hold ? pendingTurn : await pendingTurn;
    let slot: Hold;
    try {
      const remaining = Math.max(0, deadline - now());
      const pendingSlot = this.slots.acquireHold(true, { timeoutMs: remaining, signal: options.signal });
      slot = pendingSlot instanceof Hold ? pendingSlot : await pendingSlot;
    } catch (error) {
      turn.release();
      throw error;
    }
    return grantedTurn(sessionId, turn, slot);
  }

  /**
   * The turn at once when the session has none running or queued and a global slot is free;
   * else undefined, with nothing queued (the caller then waits with `acquireTurn`). Lets the
   * hot path skip the promise and the cancellation plumbing a wait needs.
   */
  tryAcquireTurn(sessionId: string): SessionTurn | undefined {
    // Slot first: a turn taken and given back would count as an acquisition of the session.
    if (!this.slots.wouldGrant(true)) return undefined;
    const turn = this.turns.tryAcquireHold(sessionId, true);
    if (!turn) return undefined;
    const slot = this.slots.tryAcquireHold(true);
    if (!slot) {
      // Unreachable while single-threaded (checked above); kept so a turn can never leak.
      turn.release();
      return undefined;
    }
    return grantedTurn(sessionId, turn, slot);
  }

  /** Requests of `sessionId` waiting behind its current turn. */
  queueDepth(sessionId: string): number {
    return this.turns.queueDepth(sessionId);
  }

  get inFlight(): number {
    return this.slots.holders.size;
  }

  stats(): SessionSerializerStats {
    // Null prototype: session ids are client-chosen strings ("__proto__" must stay a plain key).
    const queueDepth = Object.create(null) as Record<string, number>;
    let queued = 0;
    let activeSessions = 0;
    for (const entry of this.turns.locks()) {
      activeSessions += 1;
      const depth = entry.waiters.size;
      if (depth === 0) continue;
      queueDepth[entry.key as string] = depth;
      queued += depth;
    }
    return {
      inFlight: this.slots.holders.size,
      maxInFlight: this.maxInFlight,
      waitingForSlot: this.slots.waiters.size,
      activeSessions,
      queued,
      queueDepth,
      rejectedQueueFull: this.rejectedQueueFull,
    };
  }
}
