import { type Action, ActionPriority, fromPluginAction, toPluginAction, ConflictResolution, type QueuedAction } from '../../decision';
import { abortError, ActionTimeoutError, type Execution, type PendingStep } from './execution';

/** What the executor needs from the decision module (DecisionService fits). */
export interface ActionSink {
  queue(sessionId: string): { peekAll(): readonly QueuedAction[] };
  enqueue(sessionId: string, action: Action, priority: ActionPriority, source: string, ttlMs?: number): ConflictResolution;
  onActionDelivered(listener: (sessionId: string, entry: QueuedAction) => void): void;
  onFeedback(listener: (event: { sessionId: string | undefined; action: string; success: boolean; reason?: string }) => void): void;
}

/** How often an action waiting for delivery checks it is still queued. */
const POLL_MS = 200;

/**
 * Delivers an execution's actions through the session's action queue (source
 * `macro:<execution id>`), one at a time: each must be delivered to the bot, then acknowledged by
 * its `action_feedback`, both within `actionTimeoutMs`. Also the execution's timed waits: every
 * wait ends at once on a stop, the execution bound or the shutdown, and leaves no timer behind.
 */
export class ActionDelivery {
  constructor(
    private readonly sink: ActionSink,
    private readonly actionTimeoutMs: number,
    /** The execution currently running for a session (its pending step receives deliveries and feedback). */
    private readonly running: (sessionId: string) => Execution | undefined,
  ) {
    sink.onActionDelivered((sessionId, entry) => this.onDelivered(sessionId, entry));
    sink.onFeedback((e) => this.onFeedback(e.sessionId, e.action, e.success, e.reason));
  }

  /**
   * Queues one action and waits for it to be delivered, then acknowledged (each bounded). While
   * it waits for delivery it checks that the action is still queued: the queue may have dropped
   * it (a tier's movement replaces a queued movement, a full queue evicts) — then it is queued
   * again, within the same bound. A refusal (a critical action holds the queue) is retried too.
   */
  async send(exec: Execution, action: Action): Promise<void> {
    const timeout = this.actionTimeoutMs;
    const deadline = Date.now() + timeout;
    const step: PendingStep = { action, phase: 'queued' };
    const where = () => `action ${action.type} (line ${exec.currentLine})`;
    exec.step = step;
    try {
      let queued = false;
      while (step.phase === 'queued') {
        const left = deadline - Date.now();
        if (left <= 0) throw new ActionTimeoutError(`${where()} was not delivered to the bot within ${timeout} ms`);
        const inQueue = queued && this.sink.queue(exec.sessionId).peekAll().some((e) => e.source === exec.source);
        if (!inQueue) {
          if (queued) exec.addLog(`line ${exec.currentLine}: action was dropped from the queue before delivery; queued again`);
          queued = this.sink.enqueue(exec.sessionId, action, ActionPriority.HIGH, exec.source, left) !== ConflictResolution.REJECT;
          if (queued) exec.actions.queued++;
        }
        // Woken by delivery; otherwise look again shortly.
        await this.nap(exec, step, Math.min(POLL_MS, left));
      }
      exec.actions.delivered++;
      const ackDeadline = Date.now() + timeout;
      while (step.ack === undefined) {
        const left = ackDeadline - Date.now();
        if (left <= 0) throw new ActionTimeoutError(`${where()} was delivered but not acknowledged within ${timeout} ms`);
        await this.nap(exec, step, left);
      }
      if (step.ack.success) exec.actions.acknowledged++;
      else {
        exec.actions.failed++;
        exec.addLog(`line ${exec.currentLine}: ${toPluginAction(action)} failed${step.ack.reason ? `: ${step.ack.reason}` : ''}`);
      }
    } finally {
      exec.step = null;
    }
  }

  /** Sleeps `ms`; a stop, the execution bound or the shutdown wakes it with an error. */
  sleep(exec: Execution, ms: number): Promise<void> {
    return until<void>(exec, ms, () => undefined);
  }

  private onDelivered(sessionId: string, entry: QueuedAction): void {
    const exec = this.running(sessionId);
    const step = exec?.step;
    if (!exec || !step || entry.source !== exec.source || step.phase !== 'queued') return;
    step.phase = 'delivered';
    step.wake?.();
  }

  private onFeedback(sessionId: string | undefined, action: string, success: boolean, reason?: string): void {
    if (!sessionId) return;
    const step = this.running(sessionId)?.step;
    if (!step || step.phase !== 'delivered' || step.ack !== undefined) return;
    const type = step.action.type;
    if (action === toPluginAction(step.action) || fromPluginAction(action) === type || action.toUpperCase() === type) {
      step.ack = { success, reason };
      step.wake?.();
    }
  }

  /** Waits up to `ms` or until the step is woken (delivery, feedback); a stop ends it with an error. */
  private nap(exec: Execution, step: PendingStep, ms: number): Promise<void> {
    return until<void>(exec, ms, (resolve) => (step.wake = resolve)).finally(() => (step.wake = undefined));
  }
}

/**
 * Waits for `register`'s callback, at most `ms` (then the wait simply ends). A stop, the
 * execution bound or the shutdown rejects it. Timer and abort listener are always removed.
 */
function until<T>(exec: Execution, ms: number, register: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const signal = exec.abort.signal;
    if (signal.aborted) {
      reject(abortError(exec));
      return;
    }
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      exec.timers.delete(timer);
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => reject(abortError(exec)));
    const timer = setTimeout(() => finish(() => resolve(undefined as T)), Math.max(0, ms));
    exec.timers.add(timer);
    signal.addEventListener('abort', onAbort, { once: true });
    register((v) => finish(() => resolve(v)));
  });
}
