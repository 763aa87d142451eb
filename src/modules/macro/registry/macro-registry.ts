import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../../../common/fs/paths';
import { detached, LockAbortedError, LockTimeoutError } from '../../../common/concurrency';
import type { Diagnostic } from '../language/ast';
import { parseFile } from '../language/file-parser';
import { type IncludeState, type ValidationContext, type ValidationResult, validateMacroSource } from '../language/validator';
import type { MacroLocks, ReleaseKeys } from '../macro-locks';
import { isMacroFileName, listMacroFiles, readMacroFile, resolveForRead } from '../macro-paths';
import { type BlockKind, type MacroVersionStore, type VersionRecord, versionKey } from '../macro-version.store';
import { MacroFileTooLargeError, MacroReloadUnavailableError } from '../macro.errors';
import { applyPlan, type Catalog, EMPTY_CATALOG, mapOf, planLoad, sha256, withFile } from './catalog';
import { acquireExecutionLease, type ExecutionLease, LockActivity } from './execution-leases';
import { FileBook, type FileOutcome, type FileRecord, type Rejection, type RejectionCode } from './file-book';

export interface RegistryLogger {
  log(message: unknown, ...rest: unknown[]): void;
  warn(message: unknown, ...rest: unknown[]): void;
  error(message: unknown, ...rest: unknown[]): void;
}

export interface MacroRegistryOptions {
  /** Bound on a reload's wait for the executions of the macros it changes (write lock), ms. */
  reloadTimeoutMs: number;
  /** Versions kept per block in macro_versions. */
  versionsKeep: number;
  /** Bound on an execution's wait for its read locks (a reload in progress), ms. */
  executionLockTimeoutMs: number;
  logger: RegistryLogger;
  now?: () => number;
}

function statSignature(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/**
 * The file pipeline of MACRO_DIR (docs/architecture.md §6): each file is read, parsed and validated with no lock
 * held; only content eventMacro would load goes on — the write locks of the macros it changes are
 * taken (bounded wait for running executions), the versions recorded and the catalog swapped. A
 * refused file, or a reload that cannot get its locks in time, changes nothing and is reported.
 * The folder is one eventMacro file: a file's verdict may depend on what the others define, so a
 * load re-checks the files that refer to the names it changed. Each file has its own serial
 * pipeline; events that arrive while it runs are coalesced into one more run.
 */
export class MacroRegistry {
  private catalogValue: Catalog = EMPTY_CATALOG;
  private readonly book = new FileBook();
  readonly activity = new LockActivity();
  private readonly pending = new Map<string, { force: boolean; waiters: Array<(o: FileOutcome) => void> }>();
  private readonly runs = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(o: FileOutcome) => void>();
  private readonly shutdown = new AbortController();
  private readSeq = 0;
  private rootReal: string | null = null;
  /** Totals since start: accepted file loads, refused edits (by code). */
  readonly counters = { loads: 0, rejections: 0, lock_timeouts: 0 };
  private readonly now: () => number;

  constructor(
    private readonly locks: MacroLocks,
    private readonly store: MacroVersionStore,
    private readonly options: MacroRegistryOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get catalog(): Catalog {
    return this.catalogValue;
  }

  /** MACRO_DIR's real path once it exists, else null (nothing is loaded then). */
  get root(): string | null {
    return this.rootReal;
  }

  get closed(): boolean {
    return this.shutdown.signal.aborted;
  }

  /** Sets the (real) folder files are read from. */
  setRoot(rootReal: string | null): void {
    this.rootReal = rootReal;
  }

  // ---------------------------------------------------------------- pipeline

  /**
   * Queues `file` for (re)loading and resolves with the outcome of a run that read the file
   * after this call. `force` re-validates even when the content did not change.
   */
  schedule(file: string, force = false): Promise<FileOutcome> {
    if (this.closed) return Promise.resolve({ file, status: 'ignored', hash: null, readSeq: this.readSeq });
    let entry = this.pending.get(file);
    if (entry) entry.force ||= force;
    else {
      entry = { force, waiters: [] };
      this.pending.set(file, entry);
    }
    const result = new Promise<FileOutcome>((resolve) => entry.waiters.push(resolve));
    if (!this.runs.has(file)) this.runs.set(file, detached(() => this.drain(file)));
    return result;
  }

  /** Loads every file of the folder one after the other (sorted, so boot is deterministic) and retires vanished ones. */
  async syncAll(force = false): Promise<FileOutcome[]> {
    const root = this.rootReal;
    if (!root) return [];
    const onDisk = await listMacroFiles(root);
    const known = this.book.names().filter((f) => !onDisk.includes(f));
    const outcomes: FileOutcome[] = [];
    for (const file of [...onDisk, ...known]) {
      if (this.closed) break;
      outcomes.push(await this.schedule(file, force));
    }
    await this.whenIdle();
    return outcomes;
  }

  /** Resolves once no file is queued or loading (re-checks included). */
  async whenIdle(): Promise<void> {
    while (this.runs.size > 0) await Promise.allSettled([...this.runs.values()]);
  }

  /**
   * Arms a wait for the outcome of loading `file` with content `hash` (PUT): resolves with it, or
   * with a `superseded` outcome when a later read of the file found other content. Call
   * `armed()` right after the file was written: reads before that point are not "later".
   */
  expectFile(file: string, hash: string, timeoutMs: number): { armed(): void; result: Promise<FileOutcome & { superseded?: boolean }>; cancel(): void } {
    let armSeq = Number.POSITIVE_INFINITY;
    let cleanup = () => {};
    const result = new Promise<FileOutcome & { superseded?: boolean }>((resolve, reject) => {
      if (this.closed) {
        reject(new MacroReloadUnavailableError('The engine is shutting down'));
        return;
      }
      const listener = (o: FileOutcome) => {
        if (o.file !== file) return;
        if (o.hash === hash && o.status !== 'ignored') done(() => resolve(o));
        else if (o.readSeq > armSeq) done(() => resolve({ ...o, superseded: true }));
      };
      const timer = setTimeout(() => {
        done(() => reject(new MacroReloadUnavailableError(`The registry did not load ${file} within ${timeoutMs} ms`, { file, timeout_ms: timeoutMs })));
      }, timeoutMs);
      const onAbort = () => done(() => reject(new MacroReloadUnavailableError('The engine is shutting down')));
      this.shutdown.signal.addEventListener('abort', onAbort, { once: true });
      const done = (settle: () => void) => {
        cleanup();
        settle();
      };
      cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.shutdown.signal.removeEventListener('abort', onAbort);
      };
      this.listeners.add(listener);
    });
    return {
      armed: () => {
        armSeq = this.readSeq;
      },
      result,
      cancel: () => cleanup(),
    };
  }

  /** Stops taking work and aborts lock waits in progress; resolves when the pipelines have stopped. */
  async close(): Promise<void> {
    this.shutdown.abort(new Error('macro registry closed'));
    for (const [, p] of this.pending) for (const w of p.waiters) w({ file: '', status: 'ignored', hash: null, readSeq: this.readSeq });
    this.pending.clear();
    await this.whenIdle();
    this.listeners.clear();
  }

  /**
   * The serial pipeline of one file. It leaves `runs` in the same synchronous step in which it
   * finds nothing pending, so a schedule() can never land in between and be stranded.
   */
  private async drain(file: string): Promise<void> {
    for (;;) {
      const entry = this.pending.get(file);
      if (!entry) {
        this.runs.delete(file);
        return;
      }
      this.pending.delete(file);
      let outcome: FileOutcome;
      try {
        outcome = await this.processFile(file, entry.force);
      } catch (err) {
        this.options.logger.error({ err, file }, 'macro file processing failed');
        outcome = { file, status: 'failed', hash: null, readSeq: this.readSeq };
      }
      for (const w of entry.waiters) w(outcome);
      for (const l of [...this.listeners]) l(outcome);
    }
  }

  private async processFile(file: string, force: boolean): Promise<FileOutcome> {
    const root = this.rootReal;
    if (!root || this.closed) return { file, status: 'ignored', hash: null, readSeq: this.readSeq };
    const resolved = await resolveForRead(root, file);
    if (resolved.status === 'missing') return this.retireFile(file);
    if (resolved.status === 'not-file') return { file, status: 'ignored', hash: null, readSeq: this.readSeq };
    const readSeq = ++this.readSeq;
    const rec = this.book.record(file);
    if (resolved.status === 'refused') {
      return this.reject(rec, null, readSeq, 'PATH', `Refused to read ${file}: ${resolved.reason}`, [], [], { names: [] });
    }
    const signature = statSignature(resolved.stat);
    if (!force && rec.stat === signature && this.book.settled(rec)) return this.unchanged(rec, readSeq);
    let content: string;
    try {
      content = await readMacroFile(resolved.real);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.retireFile(file);
      if (err instanceof MacroFileTooLargeError) {
        const diag: Diagnostic = { severity: 'error', code: 'FILE_TOO_LARGE', effect: 'file_refused', line: 0, message: err.message };
        rec.stat = signature;
        return this.reject(rec, null, readSeq, 'VALIDATION', err.message, [diag], [], { names: [] });
      }
      return this.reject(rec, null, readSeq, 'IO', `Cannot read ${file}: ${(err as Error).message}`, [], [], { names: [], retryOnRescan: true });
    }
    const hash = sha256(content);
    if (!force && rec.lastHash === hash && this.book.settled(rec)) {
      rec.stat = signature;
      return this.unchanged(rec, readSeq);
    }
    rec.lastHash = hash;
    rec.stat = signature;
    const result = await this.validateFile(file, content);
    if (!result.ok) return this.rejectInvalid(rec, hash, readSeq, result);
    return this.commit(rec, hash, readSeq, content, result);
  }

  private unchanged(rec: FileRecord, readSeq: number): FileOutcome {
    if (rec.rejection) return { file: rec.file, status: 'rejected', hash: rec.lastHash, readSeq, rejection: rec.rejection };
    return { file: rec.file, status: 'unchanged', hash: rec.lastHash, readSeq };
  }

  private async commit(rec: FileRecord, hash: string, readSeq: number, content: string, validation: ValidationResult): Promise<FileOutcome> {
    const file = rec.file;
    let plan = planLoad(file, validation.document, this.catalog);
    if (plan.changed.length === 0 && plan.removed.length === 0) {
      const subs = subsChanged(rec, validation);
      this.catalogValue = applyPlan(this.catalog, file, plan, new Map(), this.now());
      this.book.markLoaded(rec, hash, this.now(), validation.document, validation.warnings, validation.crossRefs);
      if (subs.length > 0) this.recheckDependents(file, subs);
      return { file, status: 'unchanged', hash, readSeq };
    }
    const lockNames = [...plan.changed.filter((b) => b.kind === 'macro').map((b) => b.name), ...plan.removedMacros];
    this.activity.reloadWaiting(lockNames, 1);
    rec.status = 'reloading';
    let release: ReleaseKeys;
    try {
      release = await this.locks.acquire(lockNames, 'write', {
        timeoutMs: this.options.reloadTimeoutMs,
        signal: this.shutdown.signal,
        task: `macro-reload:${file}`,
      });
    } catch (err) {
      if (err instanceof LockTimeoutError) {
        const running = this.activity.runningIn(lockNames);
        return this.reject(
          rec,
          hash,
          readSeq,
          'LOCK_TIMEOUT',
          `Reload of ${file} gave up after ${this.options.reloadTimeoutMs} ms waiting for ${running} running execution(s) of ${lockNames.join(', ')}; the previous version keeps serving`,
          [],
          validation.warnings,
          { names: validation.document.blocks.map((b) => versionKey(b.kind, b.name)), retryOnRescan: true },
        );
      }
      if (err instanceof LockAbortedError) return { file, status: 'failed', hash, readSeq };
      throw err;
    } finally {
      this.activity.reloadWaiting(lockNames, -1);
      if (rec.status === 'reloading') rec.status = rec.loadedHash ? 'loaded' : 'rejected';
    }
    try {
      // Other files may have loaded while this one waited: judge it again against the folder as
      // it is now, while the macros this load changes cannot change under it.
      const again = await this.validateFile(file, content);
      if (!again.ok) return this.rejectInvalid(rec, hash, readSeq, again);
      // The plan may have grown by a macro another file gave up meanwhile: a name absent from the
      // catalog has no execution to wait for, so its lock is not needed.
      plan = planLoad(file, again.document, this.catalog);
      const records: VersionRecord[] = plan.changed.map((b) => ({ kind: b.kind, name: b.name, hash: sha256(b.text), content: b.text, file }));
      let versions: Map<string, number>;
      try {
        versions = await this.store.record(records, this.options.versionsKeep, this.now());
      } catch (err) {
        this.options.logger.error({ err, file }, 'recording macro versions failed');
        return this.reject(rec, hash, readSeq, 'STORE', `Could not record the new versions of ${file}: ${(err as Error).message}`, [], again.warnings, {
          names: again.document.blocks.map((b) => versionKey(b.kind, b.name)),
          retryOnRescan: true,
        });
      }
      const touched = [...plan.changed.map((b) => b.name), ...plan.removed.map((r) => r.name), ...subsChanged(rec, again)];
      this.catalogValue = applyPlan(this.catalog, file, plan, versions, this.now());
      this.book.markLoaded(rec, hash, this.now(), again.document, again.warnings, again.crossRefs);
      this.counters.loads++;
      const changed = Object.fromEntries(versions);
      this.options.logger.log({ file, versions: changed, removed: plan.removed.map((r) => `${r.kind}:${r.name}`) }, 'macro file loaded');
      this.recheckDependents(file, touched);
      return { file, status: 'loaded', hash, readSeq, versions: changed };
    } finally {
      release();
    }
  }

  private async retireFile(file: string): Promise<FileOutcome> {
    const readSeq = ++this.readSeq;
    const owned = () => [...this.catalog.macros.values(), ...this.catalog.automacros.values()].filter((e) => e.file === file);
    const rec = this.book.get(file);
    // Its subs go with it: macros of other files may call them.
    const subs = rec?.blocks.filter((b) => b.kind === 'sub').map((b) => b.name) ?? [];
    if (owned().length === 0) {
      const existed = this.book.delete(file);
      if (existed) this.recheckDependents(file, subs);
      return { file, status: existed ? 'deleted' : 'ignored', hash: null, readSeq };
    }
    this.catalogValue = withFile(this.catalog, file, 'retire');
    if (rec) rec.status = 'retiring';
    const macroNames = owned()
      .filter((e) => e.kind === 'macro')
      .map((e) => e.name);
    this.options.logger.log({ file, macros: macroNames }, 'macro file deleted: retiring its macros once their executions end');
    for (;;) {
      if (this.closed) return { file, status: 'failed', hash: null, readSeq };
      if (this.rootReal && (await resolveForRead(this.rootReal, file)).status !== 'missing') {
        // The file is back: the run queued by its event (or this one) loads it.
        this.catalogValue = withFile(this.catalog, file, 'unretire');
        if (rec) rec.status = rec.loadedHash ? 'loaded' : 'rejected';
        void this.schedule(file, true);
        return { file, status: 'ignored', hash: null, readSeq };
      }
      let release: ReleaseKeys;
      try {
        release = await this.locks.acquire(macroNames, 'write', {
          timeoutMs: this.options.reloadTimeoutMs,
          signal: this.shutdown.signal,
          task: `macro-retire:${file}`,
        });
      } catch (err) {
        if (err instanceof LockTimeoutError) {
          this.options.logger.warn({ file, macros: macroNames }, 'retiring macros: executions still running, waiting again');
          continue;
        }
        if (err instanceof LockAbortedError) return { file, status: 'failed', hash: null, readSeq };
        throw err;
      }
      let gone: string[];
      try {
        gone = owned().map((e) => e.name);
        this.catalogValue = withFile(this.catalog, file, 'remove');
        this.book.delete(file);
        this.options.logger.log({ file, retired: gone }, 'macros retired');
      } finally {
        release();
      }
      this.recheckDependents(file, [...gone, ...subs]);
      return { file, status: 'deleted', hash: null, readSeq };
    }
  }

  /**
   * Re-checks the files whose verdict depends on names `file` just defined or removed (a call of
   * a macro, a duplicate name, an include of `file`): eventMacro judges the folder as a whole.
   */
  private recheckDependents(file: string, names: readonly string[]): void {
    const keys = new Set([...names.map((n) => n.toLowerCase()), `include:${file}`]);
    for (const rec of this.book.all()) {
      if (rec.file === file || this.pending.has(rec.file)) continue;
      if ([...rec.crossRefs].some((k) => keys.has(k))) void this.schedule(rec.file, true);
    }
  }

  private rejectInvalid(rec: FileRecord, hash: string, readSeq: number, result: ValidationResult): FileOutcome {
    const first = result.errors[0];
    const message =
      `${rec.file} is refused: ${result.errors.length} error(s)` +
      (first ? `, first at line ${first.line}: ${first.message}` : '') +
      (rec.loadedHash ? '; the previous version keeps serving' : '; nothing from it is loaded');
    return this.reject(rec, hash, readSeq, 'VALIDATION', message, result.errors, result.warnings, {
      names: result.document.blocks.map((b) => versionKey(b.kind, b.name)),
      crossRefs: result.crossRefs,
    });
  }

  private reject(
    rec: FileRecord,
    hash: string | null,
    readSeq: number,
    code: RejectionCode,
    message: string,
    errors: Diagnostic[],
    warnings: readonly Diagnostic[],
    opts: { names: readonly string[]; retryOnRescan?: boolean; crossRefs?: readonly string[] },
  ): FileOutcome {
    const rejection: Rejection = { at: this.now(), file: rec.file, content_hash: hash, code, message, errors, warnings: [...warnings] };
    this.counters.rejections++;
    if (code === 'LOCK_TIMEOUT') this.counters.lock_timeouts++;
    const keys = new Set(opts.names);
    for (const e of [...this.catalog.macros.values(), ...this.catalog.automacros.values()]) if (e.file === rec.file) keys.add(versionKey(e.kind, e.name));
    this.book.reject(rec, rejection, keys, opts);
    this.options.logger.warn({ file: rec.file, code, errors: errors.slice(0, 20), content_hash: hash }, `macro edit rejected: ${message}`);
    return { file: rec.file, status: 'rejected', hash, readSeq, rejection };
  }

  // ---------------------------------------------------------------- validation

  /** Validates `content` as `file` against the rest of the folder, its includes resolved on disk. */
  async validateFile(file: string, content: string): Promise<ValidationResult> {
    const includes = new Map<string, IncludeState>();
    for (const inc of parseFile(content).includes) includes.set(inc.target, await this.includeState(file, inc.target));
    const result = validateMacroSource(content, { ...this.contextExcluding(file), includes });
    const refs = new Set(result.crossRefs);
    for (const inc of result.document.includes) refs.add(`include:${this.includePath(file, inc.target) ?? inc.target}`);
    return { ...result, crossRefs: [...refs] };
  }

  private includePath(file: string, target: string): string | undefined {
    if (path.posix.isAbsolute(target) || path.win32.isAbsolute(target)) return undefined;
    const joined = path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
    return joined.startsWith('../') || joined === '..' ? undefined : joined;
  }

  /** Where an include points. Only its existence is looked at (a stat inside MACRO_DIR); nothing is read. */
  private async includeState(file: string, target: string): Promise<IncludeState> {
    const rel = this.includePath(file, target);
    if (rel === undefined) return 'outside';
    if (rel === file) return 'self';
    if (!this.rootReal) return 'missing';
    const full = path.join(this.rootReal, ...rel.split('/'));
    if (!isInside(this.rootReal, full)) return 'outside';
    const real = await fsp.realpath(full).catch(() => undefined);
    if (real === undefined) return (await fsp.lstat(full).catch(() => undefined)) ? 'outside' : 'missing';
    if (!isInside(this.rootReal, real)) return 'outside';
    return isMacroFileName(rel) ? 'present' : 'not-a-macro-file';
  }

  /** What the rest of the folder defines, seen from `file`. */
  contextExcluding(file: string): ValidationContext {
    const macros = new Map<string, string>();
    const automacros = new Map<string, string>();
    const subs = new Map<string, string>();
    for (const e of this.catalog.macros.values()) if (e.file !== file) macros.set(e.name, e.file);
    for (const e of this.catalog.automacros.values()) if (e.file !== file) automacros.set(e.name, e.file);
    for (const rec of this.book.all()) {
      if (rec.file === file || rec.loadedHash === null) continue;
      for (const b of rec.blocks) if (b.kind === 'sub') subs.set(b.name, rec.file);
    }
    return { macros, automacros, subs };
  }

  /** Would loading `content` as `file` be accepted right now (PUT checks before writing)? */
  check(file: string, content: string): Promise<ValidationResult> {
    return this.validateFile(file, content);
  }

  // ---------------------------------------------------------------- queries

  /** The file that defines (or last tried to define) a block. */
  fileOf(kind: BlockKind, name: string): string | undefined {
    return mapOf(this.catalog, kind).get(name)?.file ?? this.book.lastRejection(kind, name)?.file;
  }

  fileState(file: string): { loadedHash: string | null; lastHash: string | null } | undefined {
    const rec = this.book.get(file);
    return rec ? { loadedHash: rec.loadedHash, lastHash: rec.lastHash } : undefined;
  }

  /** Accepted versions of a block, newest first (macro_versions). */
  history(kind: BlockKind, name: string, limit: number) {
    return this.store.history(kind, name, limit);
  }

  activeExecutions(name: string): number {
    return this.activity.executions(name);
  }

  reloadPending(name: string): boolean {
    return this.activity.reloadPending(name);
  }

  lastRejection(kind: BlockKind, name: string): Rejection | undefined {
    return this.book.lastRejection(kind, name);
  }

  /** The current problems of a block's file: the errors of its newest content when that content did not load. */
  currentErrors(kind: BlockKind, name: string): Rejection | undefined {
    const file = this.fileOf(kind, name);
    return (file ? this.book.get(file)?.rejection : undefined) ?? undefined;
  }

  fileRecords(): Array<Readonly<FileRecord>> {
    return this.book.all();
  }

  /** Names of blocks a rejected file tried to define that the catalog does not have. */
  rejectedOnly(): Array<{ kind: BlockKind; name: string; rejection: Rejection }> {
    return this.book.rejectedOnly((kind, name) => mapOf(this.catalog, kind).has(name));
  }

  // ---------------------------------------------------------------- executions

  /** Takes the read locks an execution of `name` needs (see acquireExecutionLease). */
  acquireForExecution(name: string, options: { signal?: AbortSignal; task: string }): Promise<ExecutionLease> {
    return acquireExecutionLease(this.locks, this.activity, () => this.catalog, name, {
      signal: options.signal ?? this.shutdown.signal,
      task: options.task,
      timeoutMs: this.options.executionLockTimeoutMs,
    });
  }
}

/** Perl subs a new version of a file adds or drops (other files' macros may call them). */
function subsChanged(rec: FileRecord, next: ValidationResult): string[] {
  const before = new Set(rec.blocks.filter((b) => b.kind === 'sub').map((b) => b.name));
  const after = new Set(next.document.subs.map((s) => s.name));
  return [...before, ...after].filter((n) => before.has(n) !== after.has(n));
}
