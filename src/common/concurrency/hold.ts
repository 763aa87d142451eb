import type { OrderedLock } from './ordered-lock';
import type { IntrusiveList, ListNode } from './intrusive-list';

let nextTaskId = 1;

/**
 * A logical flow of work (an HTTP request, a PDCA cycle, a background job),
 * named in reports. Nested lock scopes inherit it; `base` is the lock chain the
 * task was started under (usually none) — or, for a request, the session turn it
 * adopted once granted (`RequestScope.adopt`).
 */
export class Task {
  readonly id = nextTaskId++;

  constructor(
    private readonly label?: string,
    public base?: Hold,
  ) {}

  get name(): string {
    return this.label ?? `task#${this.id}`;
  }

  /** Lets a scope (Hold or Task) answer `scope.task` without a type switch. */
  get task(): Task {
    return this;
  }
}

export enum HoldState {
  Waiting = 0,
  Held = 1,
  Released = 2,
  Failed = 3,
}

/**
 * One request for a lock, from enqueue to release. The same object is the
 * queue node while waiting, the holder record while held (for the wait-for
 * graph and long-hold reports) and the async-context frame of the code running
 * under the lock: `parent` links to the enclosing hold, so a context's held-lock
 * stack is an immutable linked list and pushing allocates nothing more.
 */
export class Hold implements ListNode<Hold> {
  prev: Hold | null = null;
  next: Hold | null = null;
  list: IntrusiveList<Hold> | null = null;

  state = HoldState.Waiting;
  acquiredAt = 0;
  /** Position in the lock's (or keyed family's) grant sequence: grant order is observable. */
  grantSeq = 0;
  requestedAt = 0;
  /** Acquisition stack, captured only when LOCK_DEBUG is on (it is expensive). */
  stack: string | undefined = undefined;
  longHoldReported = false;
  /** Waiters started from code running under this hold (wait-for graph edges). */
  waitersBelow: Set<Hold> | null = null;

  // Set only on the contended path.
  resolve: ((hold: Hold) => void) | null = null;
  reject: ((error: Error) => void) | null = null;
  timer: ReturnType<typeof setTimeout> | null = null;
  signal: AbortSignal | null = null;
  onAbort: (() => void) | null = null;

  constructor(
    readonly lock: OrderedLock,
    readonly write: boolean,
    readonly task: Task,
    readonly parent: Hold | undefined,
  ) {}

  get mode(): 'read' | 'write' {
    return this.write ? 'write' : 'read';
  }

  /** Idempotent: only the first call on a held lock releases it. */
  release(): void {
    if (this.state !== HoldState.Held) return;
    this.state = HoldState.Released;
    this.lock.release(this);
  }
}
