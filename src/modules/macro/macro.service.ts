import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { promises as fsp } from 'node:fs';
import { type CatalogLock, InjectLock, LockName, LockTimeoutError } from '../../common/concurrency';
import { InvalidRequestError } from '../../common/errors/app.error';
import { DatabaseService } from '../../common/database/database.service';
import { GAME_STATE_READER, type GameStateReader as GameStatePort } from '../../common/ports/game-state-reader.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { DecisionService } from '../decision';
import { SessionService } from '../session';
import type { GameState } from '../state';
import type { Block, Diagnostic } from './language/ast';
import { parseFile } from './language/file-parser';
import { type ValidationResult, validateMacroSource } from './language/validator';
import { MacroLocks } from './macro-locks';
import { assertMacroName, assertRelativePath, fileForName, readMacroFile, realDir, resolveForRead, writeMacroFileAtomic } from './macro-paths';
import { type BlockKind, type MacroVersionRow, SqlMacroVersionStore } from './macro-version.store';
import { callClosure, findEntry, type MacroEntry, sha256, staticCalls } from './registry/catalog';
import type { BlockReport, FileOutcome, Rejection } from './registry/file-book';
import { MacroRegistry } from './registry/macro-registry';
import type { ExecutionView } from './runtime/execution';
import { MacroExecutor } from './runtime/macro-executor';
import { MacroWatcher } from './macro-watcher';
import {
  MacroEditConflictError,
  MacroFileInvalidError,
  MacroNotFoundError,
  MacroPathError,
  MacroReloadUnavailableError,
  MacroValidationError,
} from './macro.errors';
import { type MacroTemplateId, type RenderedTemplate, renderMacroTemplate, type TemplateParamsById } from './templates/macro-templates';
import { settledWithin } from '../../common/async/wait';
import { PeriodicJobs } from '../../common/scheduling';

export interface RejectionView {
  at: string;
  file: string;
  content_hash: string | null;
  code: Rejection['code'];
  message: string;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export interface MacroSummaryView {
  name: string;
  kind: BlockKind;
  version: number;
  file: string;
  line: number;
  last_reload: string;
  content_hash: string;
  /** Executions holding this macro's read lock right now (its own and those calling it). */
  active_executions: number;
  status: 'active' | 'retiring';
  /** A reload is waiting for this macro's running executions. */
  reload_pending: boolean;
  /** What eventMacro would say about it: lines it skips or stops on, advice (from its file's last load). */
  warnings: readonly Diagnostic[];
  /** What in it only the bot can evaluate (Perl, OpenKore's item lists and config). */
  evaluated_by_bot: string[];
  /** Problems of the newest content of its file, when that content did not load (empty otherwise). */
  errors: Diagnostic[];
  /** The last edit of this macro that was refused, with its errors (kept after a later fix). */
  last_rejected: RejectionView | null;
}

export interface MacroDetailView extends MacroSummaryView {
  content: string;
  tree: Block;
  /** Macros this one calls (literal calls) and the whole set its executions lock. */
  calls: string[];
  lock_closure: string[];
  history: MacroVersionRow[];
}

export interface MacroFileView {
  file: string;
  status: 'loaded' | 'rejected' | 'reloading' | 'retiring';
  loaded_hash: string | null;
  disk_hash: string | null;
  loaded_at: string | null;
  /** The blocks of the content that serves: loaded, or ignored as eventMacro ignores them (with why). */
  blocks: BlockReport[];
  /** What eventMacro would say about the content that serves (ignored blocks and lines, lines it stops on, advice). */
  warnings: Diagnostic[];
  /** Why the newest content is refused: its first error, with its line (null when it serves). */
  first_error: { line: number; code: string; message: string } | null;
  rejection: RejectionView | null;
}

export interface MacroListView {
  macro_dir: string;
  available: boolean;
  watching: boolean;
  macros: MacroSummaryView[];
  automacros: MacroSummaryView[];
  files: MacroFileView[];
  /** Blocks of refused files that never loaded (nothing serves under these names). */
  rejected: Array<{ kind: BlockKind; name: string; file: string; rejection: RejectionView }>;
}

export interface DeployResult {
  file: string;
  /** loaded: new versions serve; unchanged: the same content already served. */
  status: 'loaded' | 'unchanged';
  versions: Record<string, number>;
  macros: MacroSummaryView[];
  automacros: MacroSummaryView[];
  warnings: Diagnostic[];
}

export interface ReloadResult {
  files: Array<{ file: string; status: FileOutcome['status']; versions?: Record<string, number>; rejection?: RejectionView }>;
}

const PARAM_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const MAX_PARAMS = 32;
const MAX_PARAM_LENGTH = 256;
const SHUTDOWN_BOUND_MS = 5_000;

/** The periodic full rescan of MACRO_DIR (MACRO_RESCAN_INTERVAL_MS; 0 disables it). */
export const MACRO_RESCAN_JOB = 'macro.rescan';

/**
 * The macro module's one entry point for the controller and for other modules (the PDCA cycle
 * renders and deploys templates through `deployTemplate`). Files of MACRO_DIR are the source of
 * truth: an edit through the API is validated, written atomically into MACRO_DIR and then loaded
 * by the same watcher pipeline as a hand edit.
 */
@Injectable()
export class MacroService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(MacroService.name);
  readonly registry: MacroRegistry;
  readonly executor: MacroExecutor;
  private watcher: MacroWatcher | undefined;
  private rescanning: Promise<void> | undefined;
  private rescanAgain = false;
  private activating: Promise<string | null> | undefined;
  private closing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectLock(LockName.MACRO) family: CatalogLock<typeof LockName.MACRO>,
    db: DatabaseService,
    decisions: DecisionService,
    sessions: SessionService,
    @Optional() @Inject(GAME_STATE_READER) state: GameStatePort<GameState> | null = null,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    const macroLocks = new MacroLocks(family);
    this.registry = new MacroRegistry(macroLocks, new SqlMacroVersionStore(db), {
      reloadTimeoutMs: config.macroReloadTimeoutMs,
      versionsKeep: config.macroVersionsKeep,
      executionLockTimeoutMs: family.timeoutMs,
      logger: this.logger,
    });
    this.executor = new MacroExecutor(this.registry, decisions, sessions, state, {
      actionTimeoutMs: config.macroActionTimeoutMs,
      executionTimeoutMs: config.macroExecutionTimeoutMs,
      logger: this.logger,
    });
  }

  async onModuleInit(): Promise<void> {
    const root = await this.activate();
    if (!root) this.logger.log({ macro_dir: this.config.macroDir }, 'MACRO_DIR does not exist yet: no macros; it is watched once created');
    this.jobs.register(MACRO_RESCAN_JOB, { intervalMs: this.config.macroRescanIntervalMs, run: () => this.rescan() });
  }

  /** Before the database closes: stop watching, stop executions (releasing their locks), stop reloads. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    // Not awaited here: the running rescan is in the bounded wait below.
    void this.jobs.stop(MACRO_RESCAN_JOB);
    this.watcher?.close();
    await settledWithin(Promise.allSettled([this.executor.close(), this.registry.close(), this.rescanning, this.activating]), SHUTDOWN_BOUND_MS);
  }

  // ---------------------------------------------------------------- queries

  list(): MacroListView {
    const cat = this.registry.catalog;
    const summaries = (map: ReadonlyMap<string, MacroEntry>) => [...map.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => this.summary(e));
    return {
      macro_dir: this.config.macroDir,
      available: this.registry.root !== null,
      watching: this.watcher?.watching ?? false,
      macros: summaries(cat.macros),
      automacros: summaries(cat.automacros),
      files: this.registry.fileRecords().map((r) => ({
        file: r.file,
        status: r.status,
        loaded_hash: r.loadedHash,
        disk_hash: r.lastHash,
        loaded_at: r.loadedAt === null ? null : new Date(r.loadedAt).toISOString(),
        blocks: r.blocks,
        warnings: r.warnings,
        first_error: r.rejection ? firstError(r.rejection) : null,
        rejection: r.rejection ? rejectionView(r.rejection) : null,
      })),
      rejected: this.registry.rejectedOnly().map((r) => ({ kind: r.kind, name: r.name, file: r.rejection.file, rejection: rejectionView(r.rejection) })),
    };
  }

  async get(name: string, kind: BlockKind = 'macro', historyLimit = 10): Promise<MacroDetailView> {
    const detail = this.detail(name, kind);
    return { ...detail, history: historyLimit > 0 ? await this.registry.history(kind, detail.name, historyLimit) : [] };
  }

  /** The loaded block (its content, tree, calls), without its stored versions. */
  detail(name: string, kind: BlockKind = 'macro'): Omit<MacroDetailView, 'history'> {
    assertMacroName(name);
    const cat = this.registry.catalog;
    const entry = findEntry(kind === 'macro' ? cat.macros : cat.automacros, name);
    if (!entry) throw new MacroNotFoundError(name, kind);
    return {
      ...this.summary(entry),
      content: entry.content,
      tree: entry.block,
      calls: [...new Set(staticCalls(entry.block).map((c) => c.target))],
      lock_closure: kind === 'macro' ? callClosure(entry.name, cat).sort() : [],
    };
  }

  /** Validates eventMacro content without loading it (as if it were `file`, default a new file), against the loaded folder. */
  validate(content: string, file?: string): Promise<ValidationResult> {
    return this.registry.check(file === undefined ? '\0unsaved' : assertRelativePath(file), content);
  }

  renderTemplate<T extends MacroTemplateId>(template: T, params: TemplateParamsById[T]): RenderedTemplate {
    return renderMacroTemplate(template, params);
  }

  // ---------------------------------------------------------------- edits

  /**
   * PUT /macro/:name. `content` is either eventMacro blocks (which must define `name`) or just
   * the commands of macro `name`. The blocks replace the same-named blocks of the file that
   * holds `name` (other blocks of that file stay); a new macro goes to `<name>.txt`.
   */
  async put(name: string, content: string): Promise<DeployResult> {
    assertMacroName(name);
    const source = /^\s*(?:macro|automacro)\s+\S/m.test(content) ? content : `macro ${name} {\n${indent(content)}\n}\n`;
    const own = validateMacroSource(source);
    if (!own.ok) throw new MacroValidationError(`The content has ${own.errors.length} error(s)`, own.errors, own.warnings);
    if (!own.document.blocks.some((b) => b.name === name)) {
      throw new MacroValidationError(`The content does not define "${name}"`, [
        { severity: 'error', code: 'NOT_DEFINED', effect: 'file_refused', line: 0, message: `content must define macro or automacro "${name}"` },
      ]);
    }
    const file = this.registry.fileOf('macro', name) ?? this.registry.fileOf('automacro', name) ?? fileForName(name);
    for (const block of own.document.blocks) {
      const owner = this.registry.fileOf(block.kind, block.name);
      if (owner !== undefined && owner !== file && this.registry.catalog[block.kind === 'macro' ? 'macros' : 'automacros'].has(block.name)) {
        throw new MacroValidationError(`${block.kind} "${block.name}" is defined in ${owner}, not in ${file}`, [
          { severity: 'error', code: 'DUPLICATE_NAME', effect: 'file_refused', line: block.line, message: `${block.kind} "${block.name}" is already defined in ${owner}`, file: owner },
        ]);
      }
    }
    const root = await this.ensureRoot();
    const existing = await this.readExisting(root, file);
    const merged = existing === null ? source : mergeBlocks(existing, source, file);
    return this.deployContent(root, file, merged);
  }

  /**
   * Writes a whole macro file (relative to MACRO_DIR) and waits until the registry has loaded it.
   * Refused before anything is written when the content does not validate (400).
   */
  async deploy(file: string, content: string): Promise<DeployResult> {
    const rel = assertRelativePath(file);
    const root = await this.ensureRoot();
    return this.deployContent(root, rel, content);
  }

  /** Renders a template and deploys it (default file `generated/<name>.txt`): what the PDCA cycle calls. */
  async deployTemplate<T extends MacroTemplateId>(
    template: T,
    params: TemplateParamsById[T],
    options: { file?: string } = {},
  ): Promise<DeployResult & { template: RenderedTemplate }> {
    const rendered = renderMacroTemplate(template, params);
    const result = await this.deploy(options.file ?? rendered.file, rendered.content);
    return { ...result, template: rendered };
  }

  /** POST /macro/reload: re-reads one macro's file (or every file) from disk. */
  async reload(name?: string): Promise<ReloadResult> {
    await this.ensureRoot();
    if (name === undefined) {
      const outcomes = await this.registry.syncAll(true);
      return { files: outcomes.map(outcomeView) };
    }
    assertMacroName(name);
    const file = this.registry.fileOf('macro', name) ?? this.registry.fileOf('automacro', name);
    if (!file) throw new MacroNotFoundError(name);
    const outcome = await this.bounded(this.registry.schedule(file, true), `reload of ${file}`);
    this.throwIfFailed(outcome, false);
    return { files: [outcomeView(outcome)] };
  }

  // ---------------------------------------------------------------- executions

  execute(sessionId: string, macroName: string, parameters: Record<string, unknown> = {}): ExecutionView {
    assertMacroName(macroName);
    return this.executor.start(sessionId, macroName, checkParameters(parameters));
  }

  execution(id: string): ExecutionView {
    return this.executor.get(id);
  }

  executions(filter: { sessionId?: string; macro?: string; limit?: number }): ExecutionView[] {
    return this.executor.list(filter);
  }

  stopExecution(id: string): Promise<ExecutionView> {
    return this.executor.stop(id);
  }

  // ---------------------------------------------------------------- internals

  private summary(e: MacroEntry): MacroSummaryView {
    const current = this.registry.currentErrors(e.kind, e.name);
    const record = this.registry.fileRecords().find((r) => r.file === e.file);
    const endLine = e.block.endLine;
    const warnings = (record?.warnings ?? []).filter((w) => w.line >= e.line && w.line <= endLine && (w.block === undefined || w.block === e.name));
    const state = this.registry.fileState(e.file);
    const pendingEdit = current && state && state.lastHash !== state.loadedHash;
    const last = this.registry.lastRejection(e.kind, e.name);
    return {
      name: e.name,
      kind: e.kind,
      version: e.version,
      file: e.file,
      line: e.line,
      last_reload: new Date(e.loadedAt).toISOString(),
      content_hash: e.hash,
      active_executions: this.registry.activeExecutions(e.name),
      status: e.retiring ? 'retiring' : 'active',
      reload_pending: e.kind === 'macro' && this.registry.reloadPending(e.name),
      warnings,
      evaluated_by_bot: e.block.evaluatedByBot,
      errors: pendingEdit ? currentErrorsFor(current, e.name) : [],
      last_rejected: last ? rejectionView(last) : null,
    };
  }

  private async deployContent(root: string, file: string, content: string): Promise<DeployResult> {
    const check = await this.registry.check(file, content);
    if (!check.ok) throw new MacroValidationError(`${file} would be refused: ${check.errors.length} error(s)`, check.errors, check.warnings, { file });
    const hash = sha256(content);
    const state = this.registry.fileState(file);
    let outcome: FileOutcome;
    if (state?.loadedHash === hash && state.lastHash === hash) {
      outcome = { file, status: 'unchanged', hash, readSeq: 0 };
    } else {
      const wait = this.registry.expectFile(file, hash, this.config.macroDebounceMs + this.config.macroReloadTimeoutMs + 5_000);
      try {
        await writeMacroFileAtomic(root, file, content);
      } catch (err) {
        wait.cancel();
        throw err;
      }
      wait.armed();
      // The watcher sees the rename too; this only covers an event the OS dropped (same debounce).
      this.watcher?.notify(file);
      const result = await wait.result;
      if (result.superseded) throw new MacroEditConflictError(`${file} was changed again before this edit loaded`, { file });
      outcome = result;
      this.throwIfFailed(outcome, true);
    }
    const cat = this.registry.catalog;
    const inFile = (m: ReadonlyMap<string, MacroEntry>) => [...m.values()].filter((e) => e.file === file).map((e) => this.summary(e));
    return {
      file,
      status: outcome.status === 'loaded' ? 'loaded' : 'unchanged',
      versions: outcome.versions ?? {},
      macros: inFile(cat.macros),
      automacros: inFile(cat.automacros),
      warnings: check.warnings,
    };
  }

  private throwIfFailed(outcome: FileOutcome, edit: boolean): void {
    if (outcome.status === 'failed') throw new MacroReloadUnavailableError(`Loading ${outcome.file} did not complete`, { file: outcome.file });
    const r = outcome.rejection;
    if (outcome.status !== 'rejected' || !r) return;
    const details = { file: r.file, errors: r.errors, warnings: r.warnings };
    switch (r.code) {
      case 'VALIDATION':
        if (edit) throw new MacroValidationError(r.message, r.errors, r.warnings, { file: r.file });
        throw new MacroFileInvalidError(r.message, details);
      case 'LOCK_TIMEOUT':
        throw new LockTimeoutError(`macro (${r.file})`, this.config.macroReloadTimeoutMs, { ...details, message: r.message });
      case 'PATH':
        throw new MacroPathError(r.message, details);
      default:
        throw new MacroReloadUnavailableError(r.message, details);
    }
  }

  private async bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    const ms = this.config.macroReloadTimeoutMs + 5_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MacroReloadUnavailableError(`${what} did not complete within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readExisting(root: string, file: string): Promise<string | null> {
    const resolved = await resolveForRead(root, file);
    if (resolved.status === 'missing') return null;
    if (resolved.status !== 'ok') throw new MacroPathError(`Refused macro file ${file}: ${resolved.status === 'refused' ? resolved.reason : 'not a file'}`);
    return readMacroFile(resolved.real);
  }

  /** MACRO_DIR's real path, creating the folder (an edit through the API needs it). */
  private async ensureRoot(): Promise<string> {
    const existing = this.registry.root ?? (await this.activate());
    if (existing) return existing;
    await fsp.mkdir(this.config.macroDir, { recursive: true });
    const root = await this.activate();
    if (!root) throw new MacroReloadUnavailableError(`MACRO_DIR ${this.config.macroDir} cannot be used`);
    return root;
  }

  /** Once MACRO_DIR exists: load everything in it and start watching it. Single-flight. */
  private activate(): Promise<string | null> {
    if (this.registry.root) return Promise.resolve(this.registry.root);
    this.activating ??= (async () => {
      try {
        const root = await realDir(this.config.macroDir);
        if (!root || this.closing) return null;
        this.registry.setRoot(root);
        this.watcher = new MacroWatcher(root, (file) => void this.registry.schedule(file), () => void this.rescan(), {
          debounceMs: this.config.macroDebounceMs,
          logger: this.logger,
        });
        this.watcher.start();
        const outcomes = await this.registry.syncAll();
        const cat = this.registry.catalog;
        this.logger.log(
          { macro_dir: root, files: outcomes.length, macros: cat.macros.size, automacros: cat.automacros.size, rejected: outcomes.filter((o) => o.status === 'rejected').length },
          'macro folder loaded',
        );
        return root;
      } finally {
        this.activating = undefined;
      }
    })();
    return this.activating;
  }

  /** Full rescan (periodic, or after a folder event): new, changed, vanished files; a dead watch restarts. */
  private async rescan(): Promise<void> {
    if (this.closing) return;
    if (this.rescanning) {
      this.rescanAgain = true;
      return;
    }
    this.rescanning = (async () => {
      try {
        do {
          this.rescanAgain = false;
          if (!this.registry.root) {
            await this.activate();
            continue;
          }
          if (this.watcher && !this.watcher.watching) this.watcher.start();
          await this.registry.syncAll(false);
        } while (this.rescanAgain && !this.closing);
      } catch (err) {
        this.logger.error({ err }, 'macro rescan failed');
      } finally {
        this.rescanning = undefined;
      }
    })();
    await this.rescanning;
  }
}

function firstError(r: Rejection): MacroFileView['first_error'] {
  const e = r.errors[0];
  return e ? { line: e.line, code: e.code, message: e.message } : { line: 0, code: r.code, message: r.message };
}

function rejectionView(r: Rejection): RejectionView {
  return { at: new Date(r.at).toISOString(), file: r.file, content_hash: r.content_hash, code: r.code, message: r.message, errors: r.errors, warnings: r.warnings };
}

function outcomeView(o: FileOutcome): ReloadResult['files'][number] {
  return { file: o.file, status: o.status, ...(o.versions ? { versions: o.versions } : {}), ...(o.rejection ? { rejection: rejectionView(o.rejection) } : {}) };
}

function currentErrorsFor(r: Rejection, name: string): Diagnostic[] {
  const mine = r.errors.filter((d) => d.block === undefined || d.block === name);
  if (mine.length > 0 || r.errors.length > 0) return mine.length > 0 ? mine : r.errors;
  return [{ severity: 'error', code: r.code === 'VALIDATION' ? 'NOT_DEFINED' : r.code, effect: 'file_refused', line: 0, message: r.message }];
}

function indent(body: string): string {
  return body
    .replace(/\r\n/g, '\n')
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : `    ${l.trim()}`))
    .join('\n');
}

/**
 * Replaces the blocks of `existing` that `incoming` redefines (same kind and name), in place, and
 * appends the new ones. Needs `existing` to have a sound block structure: otherwise block
 * boundaries are guesses and the edit is refused (409) rather than risking the other blocks.
 */
export function mergeBlocks(existing: string, incoming: string, file: string): string {
  const old = parseFile(existing);
  if (!old.structureOk) {
    throw new MacroEditConflictError(`${file} has unbalanced braces: fix it by hand (or deploy the whole file) before editing one macro`, {
      file,
      errors: old.diagnostics.filter((d) => d.code === 'UNBALANCED_BRACES'),
    });
  }
  const next = parseFile(incoming);
  const lines = existing.replace(/^\uFEFF/, '').split(/\r?\n/);
  const replaced = new Set<string>();
  // A `call { … }` macro is part of its automacro's text: only whole blocks are replaced.
  const whole = (blocks: readonly Block[]) => blocks.filter((b) => !(b.kind === 'macro' && b.callBlockOf !== undefined));
  const edits = whole(next.blocks)
    .map((b) => ({ block: b, target: whole(old.blocks).find((o) => o.kind === b.kind && o.name === b.name) }))
    .filter((e): e is { block: Block; target: Block } => e.target !== undefined)
    .sort((a, b) => b.target.line - a.target.line);
  for (const { block, target } of edits) {
    lines.splice(target.line - 1, target.endLine - target.line + 1, ...block.text.split('\n'));
    replaced.add(`${block.kind}:${block.name}`);
  }
  const added = whole(next.blocks).filter((b) => !replaced.has(`${b.kind}:${b.name}`));
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  for (const b of added) lines.push('', ...b.text.split('\n'));
  return `${lines.join('\n')}\n`;
}

function checkParameters(parameters: Record<string, unknown>): Record<string, string> {
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) throw new InvalidRequestError('parameters must be an object');
  const entries = Object.entries(parameters);
  if (entries.length > MAX_PARAMS) throw new InvalidRequestError(`at most ${MAX_PARAMS} parameters`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (!PARAM_KEY.test(key)) throw new InvalidRequestError(`parameter name "${key.slice(0, 40)}" must be a variable name (letters, digits, _)`);
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = String(value);
    else if (typeof value === 'boolean') out[key] = value ? '1' : '0';
    else if (typeof value === 'string' && value.length <= MAX_PARAM_LENGTH && !/[\r\n\0]/.test(value)) out[key] = value;
    else throw new InvalidRequestError(`parameter "${key}" must be a number, a boolean or a one-line string of at most ${MAX_PARAM_LENGTH} characters`);
  }
  return out;
}

