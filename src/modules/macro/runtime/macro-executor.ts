import { LockTimeoutError, detached, runInTask } from '../../../common/concurrency';
import { AppError, InvalidRequestError, NotFoundError, ServiceUnavailableError } from '../../../common/errors/app.error';
import type { GameStateReader as GameStatePort } from '../../../common/ports/game-state-reader.port';
import type { GameState } from '../../state';
import { findEntry } from '../registry/catalog';
import type { ExecutionLease } from '../registry/execution-leases';
import type { MacroRegistry, RegistryLogger } from '../registry/macro-registry';
import { ExecutionNotFoundError, MacroNotFoundError, MacroRetiredError, SessionBusyError, TooManyExecutionsError } from '../macro.errors';
import { ActionDelivery, type ActionSink } from './action-delivery';
import { ActionTimeoutError, Execution, ExecutionAborted, type ExecutionView, RuntimeError, abortError } from './execution';
import { Expander } from './expander';
import { Interpreter } from './interpreter';
import { systemVariable } from './system-variables';
import { VariableLimitError, VariableStore } from './variable-store';

/** What the executor needs from the session module (SessionService fits). */
export interface SessionDirectory {
  exists(sessionId: string): boolean;
  onSessionExpired(listener: (sessionId: string) => void): void;
}

/** Read access to a session's latest game state, for `$.map`, `$.hp`… (the state module's GAME_STATE_READER). */
export type GameStateReader = GameStatePort<Readonly<GameState>>;

export interface MacroExecutorOptions {
  /** Bound on each action: to be delivered to the bot, then to be acknowledged. */
  actionTimeoutMs: number;
  /** Bound on a whole execution. */
  executionTimeoutMs: number;
  maxConcurrent?: number;
  /** Finished executions kept for GET. */
  historySize?: number;
  /** Lines one execution may process (a runaway loop ends as failed). */
  maxSteps?: number;
  maxCallDepth?: number;
  logger: RegistryLogger;
  random?: () => number;
}

const MAX_PAUSE_S = 3600;

/**
 * Runs macros for sessions (docs/architecture.md §6.1): an execution holds the read locks of its macro (and of
 * the macros it calls) for its whole run, so a reload of them waits for it; it runs on the
 * catalog it saw when its locks were granted. Its `do` commands become actions in the session's
 * action queue, one at a time, each delivered and acknowledged (both bounded). Variables belong
 * to the session, as they belong to the bot in eventMacro: an execution sees what earlier ones
 * set, until the session expires.
 */
export class MacroExecutor {
  private readonly executions = new Map<string, Execution>();
  private readonly bySession = new Map<string, Execution>();
  private readonly variables = new Map<string, VariableStore>();
  private readonly history: string[] = [];
  private readonly delivery: ActionDelivery;
  private closed = false;
  private readonly maxConcurrent: number;
  private readonly historySize: number;
  private readonly maxSteps: number;
  private readonly maxCallDepth: number;

  constructor(
    private readonly registry: MacroRegistry,
    sink: ActionSink,
    private readonly sessions: SessionDirectory,
    private readonly state: GameStateReader | null,
    private readonly options: MacroExecutorOptions,
  ) {
    this.maxConcurrent = options.maxConcurrent ?? 100;
    this.historySize = options.historySize ?? 500;
    this.maxSteps = options.maxSteps ?? 100_000;
    this.maxCallDepth = options.maxCallDepth ?? 16;
    this.delivery = new ActionDelivery(sink, options.actionTimeoutMs, (id) => this.bySession.get(id));
    sessions.onSessionExpired((id) => {
      this.bySession.get(id)?.abort.abort(new ExecutionAborted('session_expired'));
      this.variables.delete(id);
    });
  }

  /** Starts an execution in the background and returns at once (its HTTP request holds no macro lock). */
  start(sessionId: string, macroName: string, parameters: Record<string, string> = {}): ExecutionView {
    if (this.closed) throw new ServiceUnavailableError('The engine is shutting down: no new macro execution');
    if (!this.sessions.exists(sessionId)) throw new NotFoundError(`Session ${sessionId} not found or expired`, { session_id: sessionId });
    const catalog = this.registry.catalog;
    const entry = findEntry(catalog.macros, macroName);
    if (!entry) {
      if (findEntry(catalog.automacros, macroName)) {
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

    const exec = new Execution(sessionId, entry.name, parameters);
    this.executions.set(exec.id, exec);
    this.bySession.set(sessionId, exec);
    const overall = setTimeout(() => exec.abort.abort(new ExecutionAborted('timeout')), this.options.executionTimeoutMs);
    exec.timers.add(overall);
    exec.done = detached(() => runInTask(`macro-exec:${exec.id}`, () => this.run(exec))).catch((err: unknown) =>
      this.options.logger.error({ err, execution_id: exec.id }, 'macro execution crashed'),
    );
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

  /** A session's eventMacro variables (empty when it never ran a macro). */
  sessionVariables(sessionId: string): ReturnType<VariableStore['toJSON']> {
    return (this.variables.get(sessionId) ?? new VariableStore()).toJSON();
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
      const expander = this.expanderFor(exec.sessionId);
      for (const [k, v] of Object.entries(exec.parameters)) expander.vars.setScalar(k, v);
      const interpreter = new Interpreter(exec, lease.catalog, expander, { send: (e, a) => this.delivery.send(e, a), sleep: (e, ms) => this.delivery.sleep(e, ms) }, {
        maxSteps: this.maxSteps,
        maxCallDepth: this.maxCallDepth,
        maxPauseSeconds: MAX_PAUSE_S,
      });
      await interpreter.run(lease.entry);
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

  private expanderFor(sessionId: string): Expander {
    let vars = this.variables.get(sessionId);
    if (!vars) {
      vars = new VariableStore();
      this.variables.set(sessionId, vars);
    }
    const subs = new Set<string>();
    for (const rec of this.registry.fileRecords()) for (const b of rec.blocks) if (b.kind === 'sub' && rec.loadedHash !== null) subs.add(b.name);
    return new Expander({
      vars,
      special: (name) => systemVariable(name, this.state?.current(sessionId)),
      isSub: (name) => subs.has(name),
      inventory: () => this.state?.current(sessionId)?.inventory,
      random: this.options.random ?? Math.random,
    });
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
    else if (err instanceof RuntimeError) exec.error = { code: err.code, message: err.message, line: err.line ?? exec.currentLine ?? undefined };
    else if (err instanceof VariableLimitError) exec.error = { code: 'RUNTIME_ERROR', message: err.message, line: exec.currentLine ?? undefined };
    else {
      this.options.logger.error({ err, execution_id: exec.id }, 'macro execution failed unexpectedly');
      exec.error = { code: 'INTERNAL_ERROR', message: (err as Error)?.message ?? String(err) };
    }
  }

  private retire(exec: Execution): void {
    this.history.push(exec.id);
    while (this.history.length > this.historySize) this.executions.delete(this.history.shift()!);
  }
}
