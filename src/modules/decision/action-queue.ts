import { type Action, ActionPriority, MOVEMENT } from './action';

/** docs/architecture.md §10.2 outcomes of an incoming action against what is executing or queued. */
export enum ConflictResolution {
  QUEUE = 'QUEUE',
  REPLACE = 'REPLACE',
  REJECT = 'REJECT',
  MERGE = 'MERGE',
}

export interface QueuedAction {
  action: Action;
  priority: ActionPriority;
  queuedAt: number;
  /** Absolute ms; an action still queued after it is dropped, never delivered. */
  deadline: number;
  seq: number;
  /** Where it came from: a decision tier or a macro execution. */
  source: string;
}

export interface ActionQueueStats {
  size: number;
  enqueued: number;
  delivered: number;
  expired: number;
  replaced: number;
  rejected: number;
  merged: number;
  overflowed: number;
}

function sameAction(a: Action, b: Action): boolean {
  if (a.type !== b.type) return false;
  const ka = Object.keys(a.params);
  if (ka.length !== Object.keys(b.params).length) return false;
  return ka.every((k) => a.params[k] === b.params[k]);
}

/**
 * Decides what an incoming action does to one already executing or queued (docs/architecture.md §10.2):
 * a duplicate merges; nothing but a critical action interrupts a critical one; a movement
 * replaces a movement (one cannot walk two ways); skills queue behind skills and movements.
 */
export function resolveConflict(existing: QueuedAction, incoming: Action, incomingPriority: ActionPriority): ConflictResolution {
  if (sameAction(existing.action, incoming)) return ConflictResolution.MERGE;
  if (existing.priority === ActionPriority.CRITICAL && incomingPriority < ActionPriority.CRITICAL) return ConflictResolution.REJECT;
  if (MOVEMENT.has(existing.action.type) && MOVEMENT.has(incoming.type)) return ConflictResolution.REPLACE;
  if (incomingPriority === ActionPriority.CRITICAL && existing.priority < ActionPriority.CRITICAL) return ConflictResolution.REPLACE;
  return ConflictResolution.QUEUE;
}

/**
 * One session's pending actions (docs/architecture.md §10.1): highest priority first, FIFO within a priority,
 * bounded (the lowest-priority, oldest entry gives way), expired entries dropped and counted.
 * Every method is synchronous, so no caller can observe it half-updated between awaits.
 */
export class ActionQueue {
  private entries: QueuedAction[] = [];
  private seq = 0;
  readonly stats: ActionQueueStats = { size: 0, enqueued: 0, delivered: 0, expired: 0, replaced: 0, rejected: 0, merged: 0, overflowed: 0 };

  constructor(
    readonly capacity = 32,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  enqueue(action: Action, priority: ActionPriority, ttlMs: number, source = 'decision'): ConflictResolution {
    const now = this.now();
    this.dropExpired(now);
    let outcome = ConflictResolution.QUEUE;
    for (const existing of [...this.entries]) {
      const r = resolveConflict(existing, action, priority);
      if (r === ConflictResolution.MERGE) {
        existing.deadline = Math.max(existing.deadline, now + ttlMs);
        this.stats.merged++;
        return r;
      }
      if (r === ConflictResolution.REJECT) {
        this.stats.rejected++;
        return r;
      }
      if (r === ConflictResolution.REPLACE) {
        this.entries.splice(this.entries.indexOf(existing), 1);
        this.stats.replaced++;
        outcome = r;
      }
    }
    if (this.entries.length >= this.capacity) {
      // The weakest entry gives way: lowest priority, then the oldest.
      const victim = this.entries.reduce((w, e) => (e.priority < w.priority || (e.priority === w.priority && e.seq < w.seq) ? e : w));
      if (victim.priority > priority) {
        this.stats.overflowed++;
        return ConflictResolution.REJECT;
      }
      this.entries.splice(this.entries.indexOf(victim), 1);
      this.stats.overflowed++;
    }
    this.entries.push({ action, priority, queuedAt: now, deadline: now + ttlMs, seq: ++this.seq, source });
    this.stats.enqueued++;
    this.stats.size = this.entries.length;
    return outcome;
  }

  /** The next action to execute, or undefined; expired ones are dropped on the way. */
  dequeue(): QueuedAction | undefined {
    this.dropExpired(this.now());
    if (this.entries.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.entries.length; i++) {
      const e = this.entries[i];
      const b = this.entries[best];
      if (e.priority > b.priority || (e.priority === b.priority && e.seq < b.seq)) best = i;
    }
    const [next] = this.entries.splice(best, 1);
    this.stats.delivered++;
    this.stats.size = this.entries.length;
    return next;
  }

  peekAll(): readonly QueuedAction[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
    this.stats.size = 0;
  }

  private dropExpired(now: number): void {
    const before = this.entries.length;
    if (before === 0) return;
    this.entries = this.entries.filter((e) => e.deadline > now);
    this.stats.expired += before - this.entries.length;
    this.stats.size = this.entries.length;
  }
}
