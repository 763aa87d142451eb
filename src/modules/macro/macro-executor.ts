import { randomUUID } from 'node:crypto';
import { LockTimeoutError, runInTask } from '../../common/concurrency';
import { AppError, InvalidRequestError, NotFoundError, ServiceUnavailableError } from '../../common/errors/app.error';
import { type Action, ActionPriority, fromPluginAction, toPluginAction } from '../decision/action';
import { ConflictResolution, type QueuedAction } from '../decision/action-queue';
import type { GameState } from '../state/game-state';
import { type Catalog, type ExecutionLease, type MacroEntry, type MacroRegistry, type RegistryLogger } from './macro-registry';
import { ExecutionNotFoundError, MacroNotFoundError, MacroRetiredError, SessionBusyError, TooManyExecutionsError } from './macro.errors';
import type { Statement } from './parser/ast';
import { EvaluationError, evaluateCondition, formatNumber, interpolate, isNumeric, type VarLookup } from './parser/evaluate';
import { commandToAction } from './runtime/command-actions';
import { yieldToLoop } from '../../common/async/wait';

/** What the executor needs from the decision module (DecisionService fits). */
export interface ActionSink {
  queue(sessionId: string): { peekAll(): readonly QueuedAction[] };
  enqueue(sessionId: string, action: Action, priority: ActionPriority, source: string, ttlMs?: number): ConflictResolution;
  onActionDelivered(listener: (sessionId: string, entry: QueuedAction) => void): void;
  onFeedback(listener: (event: { sessionId: string | undefined; action: string; success: boolean; reason?: string }) => void): void;
}

/** What the executor needs from the session module (SessionService fits). */
export interface SessionDirectory {
  exists(sessionId: string): boolean;
  onSessionExpired(listener: (sessionId: string) => void): void;
}

/** Read access to a session's latest game state, for `$.hp`, `$.map`… (the GAME_STATE_READER port fits). */
export interface GameStateReader {
  current(sessionId: string): Readonly<GameState> | undefined;
}

export interface MacroExecutorOptions {
  /** Bound on each action: to be delivered to the bot, then to be acknowledged. */
  actionTimeoutMs: number;
  /** Bound on a whole execution. */
  executionTimeoutMs: number;
  maxConcurrent?: number;
  /** Finished executions kept for GET. */
  historySize?: number;
  /** Statements one execution may run (a runaway loop ends as failed). */
  maxSteps?: number;
  maxCallDepth?: number;
  logger: RegistryLogger;
}

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

type AbortKind = 'stopped' | 'shutdown' | 'timeout' | 'session_expired';

class StopSignal {}
class GotoSignal {
  constructor(readonly label: string) {}
}
class ExecutionAborted extends Error {
  constructor(readonly kind: AbortKind) {
    super(`execution ${kind}`);
  }
}
class ActionTimeoutError extends Error {}
class RuntimeError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

interface PendingStep {
  action: Action;
  phase: 'queued' | 'delivered';
  ack?: { success: boolean; reason?: string };
  /** Resolves the wait in progress, if any. */
  wake?: () => void;
}

const MAX_LOG_LINES = 200;
const MAX_LOG_LINE = 500;
const MAX_PAUSE_S = 3600;
const YIELD_EVERY = 64;
/** How often an action waiting for delivery checks it is still queued. */
const POLL_MS = 200;

class Execution {
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

/**
 * Runs macros for sessions (spec §6.1): an execution holds the read locks of its macro (and of
 * the macros it calls) for its whole run, so a reload of them waits for it; it runs on the
 * catalog it saw when its locks were granted. Its `do` commands become actions in the session's
 * action queue (source `macro:<execution id>`), one at a time: each must be delivered to the bot
 * and acknowledged by its feedback (both bounded) before the next command runs. `pause` waits on
 * timers that a stop or the shutdown clears.
 */
export class MacroExecutor {
  private readonly executions = new Map<string, Execution>();
  private readonly bySession = new Map<string, Execution>();
  private readonly history: string[] = [];
  private closed = false;
  private readonly maxConcurrent: number;
  private readonly historySize: number;
  private readonly maxSteps: number;
  private readonly maxCallDepth: number;

  constructor(
    private readonly registry: MacroRegistry,
    private readonly sink: ActionSink,
    private readonly sessions: SessionDirectory,
    private readonly state: GameStateReader | null,
    private readonly options: MacroExecutorOptions,
  ) {
    this.maxConcurrent = options.maxConcurrent ?? 100;
    this.historySize = options.historySize ?? 500;
    this.maxSteps = options.maxSteps ?? 100_000;
    this.maxCallDepth = options.maxCallDepth ?? 16;
    sink.onActionDelivered((sessionId, entry) => this.onDelivered(sessionId, entry));
    sink.onFeedback((e) => this.onFeedback(e.sessionId, e.action, e.success, e.reason));
    sessions.onSessionExpired((id) => this.bySession.get(id)?.abort.abort(new ExecutionAborted('session_expired')));
  }

  /** Starts an execution in the background and returns at once (its HTTP request holds no macro lock). */
  start(sessionId: string, macroName: string, parameters: Record<string, string> = {}): ExecutionView {
    if (this.closed) throw new ServiceUnavailableError('The engine is shutting down: no new macro execution');
    if (!this.sessions.exists(sessionId)) throw new NotFoundError(`Session ${sessionId} not found or expired`, { session_id: sessionId });
    const catalog = this.registry.catalog;
    const entry = catalog.macros.get(macroName);
    if (!entry) {
      const auto = catalog.automacros.get(macroName);
      if (auto) {
        throw new InvalidRequestError(`"${macroName}" is an automacro: the bot's eventMacro triggers it; execute the macro it calls instead`, {
          macro_name: macroName,
        });
      }
      throw new MacroNotFoundError(macroName);
    }
    if (entry.retiring) throw new MacroRetiredError(macroName);
    const busy = this.bySession.get(sessionId);
    if (busy) throw new SessionBusyError(sessionId, busy.id, busy.macro);
    if (this.bySession.size >= this.maxConcurrent) throw new TooManyExecutionsError(this.maxConcurrent);

    const exec = new Execution(sessionId, macroName, parameters);
    this.executions.set(exec.id, exec);
    this.bySession.set(sessionId, exec);
    const overall = setTimeout(() => exec.abort.abort(new ExecutionAborted('timeout')), this.options.executionTimeoutMs);
    exec.timers.add(overall);
    exec.done = this.registry
      .detach(() => runInTask(`macro-exec:${exec.id}`, () => this.run(exec)))
      .catch((err: unknown) => this.options.logger.error({ err, execution_id: exec.id }, 'macro execution crashed'));
    return exec.view();
  }

  get(id: string): ExecutionView {
    const exec = this.executions.get(id);
    if (!exec) throw new ExecutionNotFoundError(id);
    return exec.view();
  }

  list(filter: { sessionId?: string; macro?: string; limit?: number } = {}): ExecutionView[] {
    const out: ExecutionView[] = [];
    for (const exec of [...this.executions.values()].reverse()) {
      if (filter.sessionId && exec.sessionId !== filter.sessionId) continue;
      if (filter.macro && exec.macro !== filter.macro) continue;
      out.push(exec.view());
      if (out.length >= (filter.limit ?? 100)) break;
    }
    return out;
  }

  /** Stops a running execution: pending timers are cleared, its lock is released. */
  async stop(id: string): Promise<ExecutionView> {
    const exec = this.executions.get(id);
    if (!exec) throw new ExecutionNotFoundError(id);
    exec.abort.abort(new ExecutionAborted('stopped'));
    await exec.done;
    return exec.view();
  }

  get runningCount(): number {
    return this.bySession.size;
  }

  /** Stops every execution (shutdown) and waits for them to release their locks. */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.bySession.values()];
    for (const exec of running) exec.abort.abort(new ExecutionAborted('shutdown'));
    await Promise.allSettled(running.map((e) => e.done));
  }

  // ---------------------------------------------------------------- running

  private async run(exec: Execution): Promise<void> {
    let lease: ExecutionLease | undefined;
    try {
      lease = await this.registry.acquireForExecution(exec.macro, { signal: exec.abort.signal, task: `macro-exec:${exec.id}` });
      if (exec.abort.signal.aborted) throw abortError(exec);
      exec.status = 'running';
      exec.startedAt = Date.now();
      exec.version = lease.entry.version;
      for (const name of lease.names) {
        const e = lease.catalog.macros.get(name);
        if (e) exec.versions[name] = e.version;
      }
      this.options.logger.log({ execution_id: exec.id, session_id: exec.sessionId, macro: exec.macro, version: exec.version }, 'macro execution started');
      const interp = new Interpreter(exec, lease.catalog, this, this.maxSteps, this.maxCallDepth);
      try {
        await interp.runMacro(lease.entry, 0);
      } catch (err) {
        if (!(err instanceof StopSignal)) throw err;
      }
      exec.status = 'completed';
    } catch (err) {
      this.fail(exec, err);
    } finally {
      lease?.release();
      for (const t of exec.timers) clearTimeout(t);
      exec.timers.clear();
      exec.step = null;
      exec.finishedAt = Date.now();
      if (this.bySession.get(exec.sessionId) === exec) this.bySession.delete(exec.sessionId);
      this.retire(exec);
      this.options.logger.log({ execution_id: exec.id, macro: exec.macro, status: exec.status, error: exec.error }, 'macro execution ended');
    }
  }

  private fail(exec: Execution, err: unknown): void {
    const reason = exec.abort.signal.reason as unknown;
    if (err instanceof ExecutionAborted || (exec.abort.signal.aborted && reason instanceof ExecutionAborted)) {
      const kind = err instanceof ExecutionAborted ? err.kind : (reason as ExecutionAborted).kind;
      exec.status = kind === 'timeout' ? 'timed_out' : 'stopped';
      exec.error = {
        code: kind === 'timeout' ? 'EXECUTION_TIMEOUT' : kind.toUpperCase(),
        message: kind === 'timeout' ? `execution exceeded ${this.options.executionTimeoutMs} ms` : `execution ${kind.replace('_', ' ')}`,
      };
      return;
    }
    if (err instanceof ActionTimeoutError) {
      exec.status = 'timed_out';
      exec.error = { code: 'ACTION_TIMEOUT', message: err.message, line: exec.currentLine ?? undefined };
      return;
    }
    exec.status = 'failed';
    if (err instanceof LockTimeoutError) exec.error = { code: 'LOCK_TIMEOUT', message: err.message };
    else if (err instanceof AppError) exec.error = { code: err.code, message: err.message };
    else if (err instanceof RuntimeError) exec.error = { code: 'RUNTIME_ERROR', message: err.message, line: err.line ?? exec.currentLine ?? undefined };
    else if (err instanceof EvaluationError) exec.error = { code: 'RUNTIME_ERROR', message: err.message, line: exec.currentLine ?? undefined };
    else {
      this.options.logger.error({ err, execution_id: exec.id }, 'macro execution failed unexpectedly');
      exec.error = { code: 'INTERNAL_ERROR', message: (err as Error)?.message ?? String(err) };
    }
  }

  private retire(exec: Execution): void {
    this.history.push(exec.id);
    while (this.history.length > this.historySize) this.executions.delete(this.history.shift()!);
  }

  // ---------------------------------------------------------------- actions

  /**
   * Queues one action and waits for it to be delivered, then acknowledged (each bounded). While
   * it waits for delivery it checks that the action is still queued: the queue may have dropped
   * it (a tier's movement replaces a queued movement, a full queue evicts) — then it is queued
   * again, within the same bound. A refusal (a critical action holds the queue) is retried too.
   */
  async sendAction(exec: Execution, action: Action): Promise<void> {
    const timeout = this.options.actionTimeoutMs;
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

  private onDelivered(sessionId: string, entry: QueuedAction): void {
    const exec = this.bySession.get(sessionId);
    const step = exec?.step;
    if (!exec || !step || entry.source !== exec.source || step.phase !== 'queued') return;
    step.phase = 'delivered';
    step.wake?.();
  }

  private onFeedback(sessionId: string | undefined, action: string, success: boolean, reason?: string): void {
    if (!sessionId) return;
    const step = this.bySession.get(sessionId)?.step;
    if (!step || step.phase !== 'delivered' || step.ack !== undefined) return;
    const type = step.action.type;
    if (action === toPluginAction(step.action) || fromPluginAction(action) === type || action.toUpperCase() === type) {
      step.ack = { success, reason };
      step.wake?.();
    }
  }

  /** Waits up to `ms` or until the step is woken (delivery, feedback); a stop ends it with an error. */
  private nap(exec: Execution, step: PendingStep, ms: number): Promise<void> {
    return this.until<void>(exec, ms, (resolve) => (step.wake = resolve), null).finally(() => (step.wake = undefined));
  }

  // ---------------------------------------------------------------- waiting

  /** Sleeps `ms`; a stop, the execution bound or the shutdown wakes it with an error. */
  sleep(exec: Execution, ms: number): Promise<void> {
    return this.until<void>(exec, ms, () => undefined, null);
  }

  /**
   * Waits for `register`'s callback, at most `ms`: then `onTimeout()` is thrown (or, when it is
   * null, the wait simply ends). Timer and abort listener are always removed.
   */
  private until<T>(exec: Execution, ms: number, register: (resolve: (v: T) => void) => void, onTimeout: (() => Error) | null): Promise<T> {
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
      const timer = setTimeout(() => finish(() => (onTimeout ? reject(onTimeout()) : resolve(undefined as T))), Math.max(0, ms));
      exec.timers.add(timer);
      signal.addEventListener('abort', onAbort, { once: true });
      register((v) => finish(() => resolve(v)));
    });
  }

  /** `$.name` variables from the session's latest game state. */
  systemVariable(exec: Execution, name: string): string | undefined {
    if (name === 'time') return String(Math.floor(Date.now() / 1000));
    if (name === 'datetime') return new Date().toISOString();
    if (name === 'session') return exec.sessionId;
    const c = this.state?.current(exec.sessionId)?.character;
    if (!c) return undefined;
    const pct = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? formatNumber(Math.floor((a / b) * 100)) : undefined);
    switch (name) {
      case 'name':
        return c.name;
      case 'map':
        return c.position?.map;
      case 'pos':
        return c.position ? `${c.position.x} ${c.position.y}` : undefined;
      case 'x':
        return c.position ? String(c.position.x) : undefined;
      case 'y':
        return c.position ? String(c.position.y) : undefined;
      case 'hp':
        return String(c.hp);
      case 'sp':
        return String(c.sp);
      case 'maxhp':
        return String(c.max_hp);
      case 'maxsp':
        return String(c.max_sp);
      case 'hppercent':
        return pct(c.hp, c.max_hp);
      case 'sppercent':
        return pct(c.sp, c.max_sp);
      case 'lvl':
        return String(c.level);
      case 'joblvl':
        return c.job_level === undefined ? undefined : String(c.job_level);
      case 'job':
        return c.job_class;
      case 'zeny':
        return c.zeny === undefined ? undefined : String(c.zeny);
      case 'weight':
        return c.weight === undefined ? undefined : String(c.weight);
      case 'maxweight':
        return c.max_weight === undefined ? undefined : String(c.max_weight);
      case 'weightpercent':
        return pct(c.weight, c.max_weight);
      default:
        return undefined;
    }
  }
}

function abortError(exec: Execution): Error {
  const reason = exec.abort.signal.reason as unknown;
  return reason instanceof ExecutionAborted ? reason : new ExecutionAborted('stopped');
}

/** Runs statements of one execution; variables are global to the execution, as in eventMacro. */
class Interpreter {
  private readonly vars = new Map<string, string>();
  private macroDelayMs = 0;
  private readonly lookup: VarLookup;

  constructor(
    private readonly exec: Execution,
    private readonly catalog: Catalog,
    private readonly executor: MacroExecutor,
    private readonly maxSteps: number,
    private readonly maxCallDepth: number,
  ) {
    for (const [k, v] of Object.entries(exec.parameters)) this.vars.set(k, v);
    this.lookup = (name) => (name.startsWith('.') ? this.system(name.slice(1)) : this.vars.get(name));
  }

  async runMacro(entry: MacroEntry, depth: number): Promise<void> {
    if (entry.block.kind !== 'macro') throw new RuntimeError(`"${entry.name}" is not a macro`);
    const body = entry.block.body;
    const labels = new Map<string, number>();
    body.forEach((s, i) => {
      if (s.type === 'label') labels.set(s.name, i);
    });
    const outer = this.exec.currentMacro;
    this.exec.currentMacro = entry.name;
    try {
      for (let pc = 0; pc < body.length; ) {
        try {
          await this.execute(body[pc], depth);
          pc++;
        } catch (err) {
          if (!(err instanceof GotoSignal)) throw err;
          const target = labels.get(err.label);
          if (target === undefined) throw new RuntimeError(`goto "${err.label}": no such label in macro "${entry.name}"`, this.exec.currentLine ?? undefined);
          pc = target + 1;
        }
      }
    } finally {
      this.exec.currentMacro = outer;
    }
  }

  private async runList(statements: readonly Statement[], depth: number): Promise<void> {
    for (const s of statements) await this.execute(s, depth);
  }

  /** Counts a step; a loop of statements with no await would hold the event loop, so yield now and then. */
  private async tick(line: number): Promise<void> {
    const exec = this.exec;
    if (exec.abort.signal.aborted) throw abortError(exec);
    if (++exec.steps > this.maxSteps) throw new RuntimeError(`more than ${this.maxSteps} statements: stopped as a runaway loop`, line);
    if (exec.steps % YIELD_EVERY === 0) {
      await yieldToLoop();
      if (exec.abort.signal.aborted) throw abortError(exec);
    }
    exec.currentLine = line;
  }

  private async execute(s: Statement, depth: number): Promise<void> {
    const exec = this.exec;
    await this.tick(s.line);
    const text = (t: string) => interpolate(t, this.lookup);
    switch (s.type) {
      case 'do': {
        const command = text(s.command).trim();
        if (command === '') throw new RuntimeError('"do" expanded to an empty command', s.line);
        const action = commandToAction(command, `macro ${exec.currentMacro} v${this.catalog.macros.get(exec.currentMacro ?? '')?.version ?? '?'} line ${s.line}`);
        await this.executor.sendAction(exec, action);
        if (this.macroDelayMs > 0) await this.executor.sleep(exec, this.macroDelayMs);
        return;
      }
      case 'pause': {
        const raw = s.seconds === null ? '1' : text(s.seconds).trim();
        if (!isNumeric(raw) || Number(raw) < 0 || Number(raw) > MAX_PAUSE_S) throw new RuntimeError(`pause needs 0 to ${MAX_PAUSE_S} seconds, got "${raw}"`, s.line);
        await this.executor.sleep(exec, Number(raw) * 1000);
        return;
      }
      case 'log':
        exec.addLog(text(s.message));
        return;
      case 'call': {
        const target = s.target.startsWith('$') ? text(s.target).trim() : s.target;
        const entry = this.catalog.macros.get(target);
        if (!entry) throw new RuntimeError(`call of macro "${target}", which is not loaded`, s.line);
        if (depth + 1 > this.maxCallDepth) throw new RuntimeError(`calls nested deeper than ${this.maxCallDepth}`, s.line);
        const timesText = s.times === null ? '1' : text(s.times).trim();
        if (!/^\d{1,6}$/.test(timesText)) throw new RuntimeError(`call repeat count must be a whole number, got "${timesText}"`, s.line);
        for (let i = 0; i < Number(timesText); i++) await this.runMacro(entry, depth + 1);
        exec.currentLine = s.line;
        return;
      }
      case 'release':
      case 'lock':
        // Automacro state lives in the bot's eventMacro plugin; the engine only records it.
        exec.addLog(`${s.type} ${text(s.target)}`);
        return;
      case 'stop':
        throw new StopSignal();
      case 'set': {
        const key = s.key.toLowerCase();
        const value = text(s.value).trim();
        if (key === 'macro_delay') {
          if (!isNumeric(value) || Number(value) < 0 || Number(value) > MAX_PAUSE_S) throw new RuntimeError(`macro_delay needs seconds, got "${value}"`, s.line);
          this.macroDelayMs = Number(value) * 1000;
        }
        return;
      }
      case 'assign': {
        const name = s.variable.slice(1);
        if (s.op === '=') {
          this.vars.set(name, s.variable.startsWith('$') ? text(s.value ?? '') : (s.value ?? ''));
          return;
        }
        const current = this.vars.get(name) ?? '0';
        if (!isNumeric(current)) throw new RuntimeError(`${s.variable}${s.op} on a value that is not a number ("${current}")`, s.line);
        this.vars.set(name, formatNumber(Number(current) + (s.op === '++' ? 1 : -1)));
        return;
      }
      case 'if':
        for (const branch of s.branches) {
          if (branch.condition === null || evaluateCondition(branch.condition, this.lookup)) {
            await this.runList(branch.body, depth);
            return;
          }
        }
        return;
      case 'while':
        while (evaluateCondition(s.condition, this.lookup)) {
          await this.runList(s.body, depth);
          await this.tick(s.line);
        }
        return;
      case 'label':
        return;
      case 'goto':
        throw new GotoSignal(s.label);
    }
  }

  private system(name: string): string | undefined {
    return this.executor.systemVariable(this.exec, name);
  }
}
