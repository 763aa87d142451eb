import { randomUUID } from 'node:crypto';
import type { Action } from '../../decision';

export type ExecutionStatus = 'pending' | 'running' | 'completed' | 'failed' | 'timed_out' | 'stopped';

export interface ExecutionView {
  execution_id: string;
  session_id: string;
  macro_name: string;
  status: ExecutionStatus;
  /** Version of the macro that ran (null until its lock was granted). */
  version: number | null;
  /** Versions of the macro and of every macro it calls, as the execution saw them. */
  versions: Record<string, number>;
  parameters: Record<string, string>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  current_macro: string | null;
  current_line: number | null;
  steps: number;
  actions: { queued: number; delivered: number; acknowledged: number; failed: number };
  log: string[];
  error: { code: string; message: string; line?: number } | null;
}

export type AbortKind = 'stopped' | 'shutdown' | 'timeout' | 'session_expired';

export class ExecutionAborted extends Error {
  constructor(readonly kind: AbortKind) {
    super(`execution ${kind}`);
  }
}

/** A macro line eventMacro would stop the macro on (or a bound of the engine's) at run time. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly code: 'RUNTIME_ERROR' | 'NEEDS_BOT' = 'RUNTIME_ERROR',
  ) {
    super(message);
  }
}

export class ActionTimeoutError extends Error {}

/** The action an execution is waiting on: queued, then delivered, then acknowledged. */
export interface PendingStep {
  action: Action;
  phase: 'queued' | 'delivered';
  ack?: { success: boolean; reason?: string };
  /** Resolves the wait in progress, if any. */
  wake?: () => void;
}

const MAX_LOG_LINES = 200;
const MAX_LOG_LINE = 500;

/** One run of a macro for a session, and what the API shows of it. */
export class Execution {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  readonly abort = new AbortController();
  readonly timers = new Set<NodeJS.Timeout>();
  status: ExecutionStatus = 'pending';
  startedAt: number | null = null;
  finishedAt: number | null = null;
  version: number | null = null;
  versions: Record<string, number> = {};
  currentMacro: string | null = null;
  currentLine: number | null = null;
  steps = 0;
  readonly actions = { queued: 0, delivered: 0, acknowledged: 0, failed: 0 };
  readonly log: string[] = [];
  error: ExecutionView['error'] = null;
  step: PendingStep | null = null;
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly sessionId: string,
    readonly macro: string,
    readonly parameters: Record<string, string>,
  ) {}

  /** The action-queue source of its actions. */
  get source(): string {
    return `macro:${this.id}`;
  }

  addLog(line: string): void {
    if (this.log.length >= MAX_LOG_LINES) this.log.shift();
    this.log.push(line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)}…` : line);
  }

  view(): ExecutionView {
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      execution_id: this.id,
      session_id: this.sessionId,
      macro_name: this.macro,
      status: this.status,
      version: this.version,
      versions: { ...this.versions },
      parameters: { ...this.parameters },
      created_at: new Date(this.createdAt).toISOString(),
      started_at: iso(this.startedAt),
      finished_at: iso(this.finishedAt),
      current_macro: this.currentMacro,
      current_line: this.currentLine,
      steps: this.steps,
      actions: { ...this.actions },
      log: [...this.log],
      error: this.error,
    };
  }
}

export function abortError(exec: Execution): Error {
  const reason = exec.abort.signal.reason as unknown;
  return reason instanceof ExecutionAborted ? reason : new ExecutionAborted('stopped');
}
