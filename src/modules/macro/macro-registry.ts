import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { detached, LockAbortedError, LockTimeoutError } from '../../common/concurrency';
import { MacroLocks, type ReleaseKeys } from './macro-locks';
import { listMacroFiles, readMacroFile, resolveForRead } from './macro-paths';
import { type BlockKind, type MacroVersionStore, type VersionRecord, versionKey } from './macro-version.store';
import { MacroFileTooLargeError, MacroNotFoundError, MacroRetiredError, MacroReloadUnavailableError } from './macro.errors';
import type { Block, Diagnostic, MacroDocument, Statement } from './parser/ast';
import { type ValidationContext, type ValidationResult, validateDocument, validateMacroSource, walk } from './parser/validator';

/** One accepted version of a macro or automacro. Immutable once published. */
export interface MacroEntry {
  readonly kind: BlockKind;
  readonly name: string;
  readonly version: number;
  /** sha256 of `content`. */
  readonly hash: string;
  /** The block's source, header to closing brace. */
  readonly content: string;
  readonly block: Block;
  /** Source file, relative to MACRO_DIR. */
  readonly file: string;
  readonly line: number;
  readonly loadedAt: number;
  /** Warnings the validator gave this block when it was loaded. */
  readonly warnings: readonly Diagnostic[];
  /** Its file was deleted: it serves the executions still running, takes no new one. */
  readonly retiring: boolean;
}

/**
 * Everything loaded, published whole: a reload builds the next catalog and swaps it in with one
 * assignment while it holds the write locks of the macros it changes, so a reader sees the
 * catalog before or after a reload, never half of one.
 */
export interface Catalog {
  readonly macros: ReadonlyMap<string, MacroEntry>;
  readonly automacros: ReadonlyMap<string, MacroEntry>;
  readonly generation: number;
}

export type RejectionCode = 'VALIDATION' | 'LOCK_TIMEOUT' | 'PATH' | 'IO' | 'STORE';

export interface Rejection {
  at: number;
  file: string;
  content_hash: string | null;
  code: RejectionCode;
  message: string;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export type FileStatus = 'loaded' | 'rejected' | 'reloading' | 'retiring';

export interface FileOutcome {
  file: string;
  status: 'loaded' | 'unchanged' | 'rejected' | 'failed' | 'deleted' | 'ignored';
  /** sha256 of the content read (null when nothing was read). */
  hash: string | null;
  /** Order of the read among all reads (see MacroRegistry.expectFile). */
  readSeq: number;
  /** Versions of the blocks this load changed, `kind:name` → version. */
  versions?: Record<string, number>;
  rejection?: Rejection;
}

interface FileRecord {
  file: string;
  /** Hash of the content last read from disk, and its stat signature. */
  lastHash: string | null;
  stat: string | null;
  /** Hash of the content the catalog serves for this file. */
  loadedHash: string | null;
  loadedAt: number | null;
  status: FileStatus;
  /** Why the last read content is not what serves (null once it serves). */
  rejection: Rejection | null;
  /** Retry on the next rescan (lock timeout, I/O, store): the same content may load next time. */
  retryOnRescan: boolean;
  /** Retry after another file loads (duplicate name or missing callee in another file). */
  retryOnCommit: boolean;
}

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

/** An execution's hold on its macro and everything it calls. */
export interface ExecutionLease {
  readonly catalog: Catalog;
  readonly entry: MacroEntry;
  /** Macros whose read lock is held (the macro and its static call closure). */
  readonly names: readonly string[];
  release(): void;
}

const EMPTY: Catalog = Object.freeze({ macros: new Map(), automacros: new Map(), generation: 0 });

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function statSignature(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/**
 * The macro registry and hot reloader (spec §6): files of MACRO_DIR go through one pipeline —
 * read, parse and validate with no lock held, then, only if valid, take the write locks of the
 * macros that change (bounded wait for running executions), record the versions and swap the
 * catalog. An invalid file or a reload that cannot get its locks in time changes nothing and
 * is reported. Each file has its own serial pipeline; events that arrive while it runs are
 * coalesced into one more run.
 */
export class MacroRegistry {
  private catalogValue: Catalog = EMPTY;
  private readonly files = new Map<string, FileRecord>();
  private readonly lastRejected = new Map<string, Rejection>();
  private readonly active = new Map<string, number>();
  private readonly reloading = new Map<string, number>();
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

  /** Runs `fn` detached from the caller's lock context (background work: pipelines, executions). */
  detach<T>(fn: () => T): T {
    return detached(fn);
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
    const known = [...this.files.keys()].filter((f) => !onDisk.includes(f));
    const outcomes: FileOutcome[] = [];
    for (const file of [...onDisk, ...known]) {
      if (this.closed) break;
      outcomes.push(await this.schedule(file, force));
    }
    await this.whenIdle();
    return outcomes;
  }

  /** Resolves once no file is queued or loading (retries included). */
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
    const rec = this.record(file);
    if (resolved.status === 'refused') {
      return this.reject(rec, null, readSeq, 'PATH', `Refused to read ${file}: ${resolved.reason}`, [], [], { blocks: [] });
    }
    const signature = statSignature(resolved.stat);
    if (!force && rec.stat === signature && this.settled(rec)) return this.unchanged(rec, readSeq);
    let content: string;
    try {
      content = await readMacroFile(resolved.real);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.retireFile(file);
      if (err instanceof MacroFileTooLargeError) {
        const diag: Diagnostic = { severity: 'error', code: 'FILE_TOO_LARGE', line: 0, message: err.message };
        rec.stat = signature;
        return this.reject(rec, null, readSeq, 'VALIDATION', err.message, [diag], [], { blocks: [] });
      }
      return this.reject(rec, null, readSeq, 'IO', `Cannot read ${file}: ${(err as Error).message}`, [], [], { blocks: [], retryOnRescan: true });
    }
    const hash = sha256(content);
    if (!force && rec.lastHash === hash && this.settled(rec)) {
      rec.stat = signature;
      return this.unchanged(rec, readSeq);
    }
    rec.lastHash = hash;
    rec.stat = signature;
    const result = validateMacroSource(content, this.contextExcluding(file));
    if (!result.ok) return this.rejectInvalid(rec, hash, readSeq, result);
    return this.commit(rec, hash, readSeq, result.document, result);
  }

  /** Whether the last content read reached a final state (served, or refused for its own content). */
  private settled(rec: FileRecord): boolean {
    if (rec.lastHash === null) return false;
    if (rec.lastHash === rec.loadedHash && rec.rejection === null) return true;
    return rec.rejection !== null && !rec.retryOnRescan;
  }

  private unchanged(rec: FileRecord, readSeq: number): FileOutcome {
    if (rec.rejection) return { file: rec.file, status: 'rejected', hash: rec.lastHash, readSeq, rejection: rec.rejection };
    return { file: rec.file, status: 'unchanged', hash: rec.lastHash, readSeq };
  }

  private async commit(rec: FileRecord, hash: string, readSeq: number, doc: MacroDocument, validation: ValidationResult): Promise<FileOutcome> {
    const file = rec.file;
    let plan = this.plan(file, doc, this.catalog);
    const dangling = this.danglingCalls(file, plan.removedMacros, this.catalog);
    if (dangling.length > 0) return this.rejectInvalid(rec, hash, readSeq, { ...validation, ok: false, errors: dangling });
    if (plan.changed.length === 0 && plan.removed.length === 0) {
      this.publish(plan, new Map(), validation, file);
      this.markLoaded(rec, hash);
      return { file, status: 'unchanged', hash, readSeq };
    }
    const lockNames = [...plan.changed.filter((b) => b.kind === 'macro').map((b) => b.name), ...plan.removedMacros];
    this.adjust(this.reloading, lockNames, +1);
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
        const running = lockNames.reduce((n, name) => n + (this.active.get(name) ?? 0), 0);
        return this.reject(
          rec,
          hash,
          readSeq,
          'LOCK_TIMEOUT',
          `Reload of ${file} gave up after ${this.options.reloadTimeoutMs} ms waiting for ${running} running execution(s) of ${lockNames.join(', ')}; the previous version keeps serving`,
          [],
          validation.warnings,
          { blocks: doc.blocks, retryOnRescan: true },
        );
      }
      if (err instanceof LockAbortedError) return { file, status: 'failed', hash, readSeq };
      throw err;
    } finally {
      this.adjust(this.reloading, lockNames, -1);
      if (rec.status === 'reloading') rec.status = rec.loadedHash ? 'loaded' : 'rejected';
    }
    try {
      // Other files may have committed while this one waited: check the cross-file rules again,
      // now that the macros this load changes cannot change under it.
      const again = validateDocument(doc, this.contextExcluding(file));
      if (!again.ok) return this.rejectInvalid(rec, hash, readSeq, again);
      plan = this.plan(file, doc, this.catalog);
      const dangling2 = this.danglingCalls(file, plan.removedMacros, this.catalog);
      if (dangling2.length > 0) return this.rejectInvalid(rec, hash, readSeq, { ...again, ok: false, errors: dangling2 });
      const records: VersionRecord[] = plan.changed.map((b) => ({ kind: b.kind, name: b.name, hash: sha256(b.text), content: b.text, file }));
      let versions: Map<string, number>;
      try {
        versions = await this.store.record(records, this.options.versionsKeep, this.now());
      } catch (err) {
        this.options.logger.error({ err, file }, 'recording macro versions failed');
        return this.reject(rec, hash, readSeq, 'STORE', `Could not record the new versions of ${file}: ${(err as Error).message}`, [], validation.warnings, {
          blocks: doc.blocks,
          retryOnRescan: true,
        });
      }
      this.publish(plan, versions, validation, file);
      this.markLoaded(rec, hash);
      this.counters.loads++;
      const changed = Object.fromEntries(versions);
      this.options.logger.log({ file, versions: changed, removed: plan.removed.map((r) => `${r.kind}:${r.name}`) }, 'macro file loaded');
      this.retryAfterCommit(file);
      return { file, status: 'loaded', hash, readSeq, versions: changed };
    } finally {
      release();
    }
  }

  private markLoaded(rec: FileRecord, hash: string): void {
    rec.loadedHash = hash;
    rec.loadedAt = this.now();
    rec.status = 'loaded';
    rec.rejection = null;
    rec.retryOnCommit = false;
    rec.retryOnRescan = false;
  }

  /** What loading `doc` as `file` changes: new or edited blocks, removed ones, moved ones (same content). */
  private plan(file: string, doc: MacroDocument, cat: Catalog) {
    const changed: Block[] = [];
    const moved: Block[] = [];
    const present = new Set<string>();
    for (const block of doc.blocks) {
      present.add(versionKey(block.kind, block.name));
      const current = (block.kind === 'macro' ? cat.macros : cat.automacros).get(block.name);
      if (!current || current.file !== file || current.hash !== sha256(block.text) || current.retiring) changed.push(block);
      else if (current.line !== block.line) moved.push(block);
    }
    const removed: Array<{ kind: BlockKind; name: string }> = [];
    for (const [kind, map] of [['macro', cat.macros], ['automacro', cat.automacros]] as const) {
      for (const entry of map.values()) {
        if (entry.file === file && !present.has(versionKey(kind, entry.name))) removed.push({ kind, name: entry.name });
      }
    }
    return { changed, moved, removed, removedMacros: removed.filter((r) => r.kind === 'macro').map((r) => r.name) };
  }

  /** Calls from other files to macros this load removes: refusing them keeps "call of an undefined macro" impossible. */
  private danglingCalls(file: string, removedMacros: readonly string[], cat: Catalog): Diagnostic[] {
    if (removedMacros.length === 0) return [];
    const removed = new Set(removedMacros);
    const out: Diagnostic[] = [];
    for (const entry of [...cat.macros.values(), ...cat.automacros.values()]) {
      if (entry.file === file) continue;
      for (const call of staticCalls(entry.block)) {
        if (removed.has(call.target)) {
          out.push({
            severity: 'error',
            code: 'UNDEFINED_MACRO',
            line: 0,
            file: entry.file,
            block: entry.name,
            message: `macro "${call.target}" would be removed but is still called by ${entry.kind} "${entry.name}" (${entry.file} line ${call.line})`,
          });
        }
      }
    }
    return out;
  }

  private publish(plan: ReturnType<MacroRegistry['plan']>, versions: Map<string, number>, validation: ValidationResult, file: string): void {
    const macros = new Map(this.catalog.macros);
    const automacros = new Map(this.catalog.automacros);
    const mapOf = (kind: BlockKind) => (kind === 'macro' ? macros : automacros);
    for (const r of plan.removed) mapOf(r.kind).delete(r.name);
    const at = this.now();
    for (const block of plan.changed) {
      const key = versionKey(block.kind, block.name);
      mapOf(block.kind).set(block.name, {
        kind: block.kind,
        name: block.name,
        version: versions.get(key) ?? 1,
        hash: sha256(block.text),
        content: block.text,
        block,
        file,
        line: block.line,
        loadedAt: at,
        warnings: validation.warnings.filter((w) => w.block === block.name && w.line >= block.line && w.line <= block.endLine),
        retiring: false,
      });
    }
    for (const block of plan.moved) {
      const current = mapOf(block.kind).get(block.name);
      if (current) mapOf(block.kind).set(block.name, { ...current, block, line: block.line });
    }
    this.catalogValue = Object.freeze({ macros, automacros, generation: this.catalog.generation + 1 });
  }

  private async retireFile(file: string): Promise<FileOutcome> {
    const readSeq = ++this.readSeq;
    const owned = () =>
      [...this.catalog.macros.values(), ...this.catalog.automacros.values()].filter((e) => e.file === file);
    const rec = this.files.get(file);
    if (owned().length === 0) {
      const existed = this.files.delete(file);
      return { file, status: existed ? 'deleted' : 'ignored', hash: null, readSeq };
    }
    this.setRetiring(file, true);
    if (rec) rec.status = 'retiring';
    const macroNames = owned()
      .filter((e) => e.kind === 'macro')
      .map((e) => e.name);
    this.options.logger.log({ file, macros: macroNames }, 'macro file deleted: retiring its macros once their executions end');
    for (;;) {
      if (this.closed) return { file, status: 'failed', hash: null, readSeq };
      if (this.rootReal && (await resolveForRead(this.rootReal, file)).status !== 'missing') {
        // The file is back: the run queued by its event (or this one) loads it.
        this.setRetiring(file, false);
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
      try {
        const gone = owned();
        const dangling = this.danglingCalls(
          file,
          gone.filter((e) => e.kind === 'macro').map((e) => e.name),
          this.catalog,
        );
        const macros = new Map(this.catalog.macros);
        const automacros = new Map(this.catalog.automacros);
        for (const e of gone) (e.kind === 'macro' ? macros : automacros).delete(e.name);
        this.catalogValue = Object.freeze({ macros, automacros, generation: this.catalog.generation + 1 });
        this.files.delete(file);
        this.options.logger.log({ file, retired: gone.map((e) => `${e.kind}:${e.name}`) }, 'macros retired');
        if (dangling.length > 0) this.options.logger.warn({ file, dangling: dangling.map((d) => d.message) }, 'retired macros are still called elsewhere');
      } finally {
        release();
      }
      this.retryAfterCommit(file);
      return { file, status: 'deleted', hash: null, readSeq };
    }
  }

  private setRetiring(file: string, retiring: boolean): void {
    const macros = new Map(this.catalog.macros);
    const automacros = new Map(this.catalog.automacros);
    for (const map of [macros, automacros]) {
      for (const [name, e] of map) if (e.file === file && e.retiring !== retiring) map.set(name, { ...e, retiring });
    }
    this.catalogValue = Object.freeze({ macros, automacros, generation: this.catalog.generation + 1 });
  }

  /** Files refused because of another file (duplicate name, missing callee) may load now. */
  private retryAfterCommit(committed: string): void {
    for (const rec of this.files.values()) {
      if (rec.file !== committed && rec.retryOnCommit && !this.pending.has(rec.file)) void this.schedule(rec.file, true);
    }
  }

  private rejectInvalid(rec: FileRecord, hash: string, readSeq: number, result: ValidationResult): FileOutcome {
    const cross = result.errors.every((e) => (e.code === 'DUPLICATE_NAME' && e.file !== undefined) || e.code === 'UNDEFINED_MACRO');
    const first = result.errors[0];
    const message =
      `${rec.file} has ${result.errors.length} error(s)` +
      (first ? `, first at line ${first.line}: ${first.message}` : '') +
      (rec.loadedHash ? '; the previous version keeps serving' : '; nothing from it is loaded');
    return this.reject(rec, hash, readSeq, 'VALIDATION', message, result.errors, result.warnings, { blocks: result.document.blocks, retryOnCommit: cross });
  }

  private reject(
    rec: FileRecord,
    hash: string | null,
    readSeq: number,
    code: RejectionCode,
    message: string,
    errors: Diagnostic[],
    warnings: readonly Diagnostic[],
    opts: { blocks: readonly Block[]; retryOnRescan?: boolean; retryOnCommit?: boolean },
  ): FileOutcome {
    const rejection: Rejection = { at: this.now(), file: rec.file, content_hash: hash, code, message, errors, warnings: [...warnings] };
    this.counters.rejections++;
    if (code === 'LOCK_TIMEOUT') this.counters.lock_timeouts++;
    rec.rejection = rejection;
    rec.retryOnRescan = opts.retryOnRescan ?? false;
    rec.retryOnCommit = opts.retryOnCommit ?? false;
    if (rec.status !== 'retiring') rec.status = rec.loadedHash ? 'loaded' : 'rejected';
    const keys = new Set(opts.blocks.map((b) => versionKey(b.kind, b.name)));
    for (const e of [...this.catalog.macros.values(), ...this.catalog.automacros.values()]) if (e.file === rec.file) keys.add(versionKey(e.kind, e.name));
    for (const key of keys) this.lastRejected.set(key, rejection);
    if (this.lastRejected.size > 10_000) this.lastRejected.delete(this.lastRejected.keys().next().value!);
    this.options.logger.warn({ file: rec.file, code, errors: errors.slice(0, 20), content_hash: hash }, `macro edit rejected: ${message}`);
    return { file: rec.file, status: 'rejected', hash, readSeq, rejection };
  }

  private record(file: string): FileRecord {
    let rec = this.files.get(file);
    if (!rec) {
      rec = { file, lastHash: null, stat: null, loadedHash: null, loadedAt: null, status: 'rejected', rejection: null, retryOnRescan: false, retryOnCommit: false };
      this.files.set(file, rec);
    }
    return rec;
  }

  // ---------------------------------------------------------------- queries

  /** What the rest of the registry defines, seen from `file` (for cross-file validation). */
  contextExcluding(file: string): ValidationContext {
    const macros = new Map<string, string>();
    const automacros = new Map<string, string>();
    for (const e of this.catalog.macros.values()) if (e.file !== file) macros.set(e.name, e.file);
    for (const e of this.catalog.automacros.values()) if (e.file !== file) automacros.set(e.name, e.file);
    return { macros, automacros };
  }

  /** Would loading `content` as `file` be accepted right now (PUT checks before writing)? */
  check(file: string, content: string): ValidationResult {
    const result = validateMacroSource(content, this.contextExcluding(file));
    if (!result.ok) return result;
    const plan = this.plan(file, result.document, this.catalog);
    const dangling = this.danglingCalls(file, plan.removedMacros, this.catalog);
    return dangling.length ? { ...result, ok: false, errors: dangling } : result;
  }

  /** The file that defines (or last tried to define) a block. */
  fileOf(kind: BlockKind, name: string): string | undefined {
    const entry = (kind === 'macro' ? this.catalog.macros : this.catalog.automacros).get(name);
    return entry?.file ?? this.lastRejected.get(versionKey(kind, name))?.file;
  }

  fileState(file: string): { loadedHash: string | null; lastHash: string | null } | undefined {
    const rec = this.files.get(file);
    return rec ? { loadedHash: rec.loadedHash, lastHash: rec.lastHash } : undefined;
  }

  /** Accepted versions of a block, newest first (macro_versions). */
  history(kind: BlockKind, name: string, limit: number) {
    return this.store.history(kind, name, limit);
  }

  activeExecutions(name: string): number {
    return this.active.get(name) ?? 0;
  }

  reloadPending(name: string): boolean {
    return (this.reloading.get(name) ?? 0) > 0;
  }

  lastRejection(kind: BlockKind, name: string): Rejection | undefined {
    return this.lastRejected.get(versionKey(kind, name));
  }

  /** The current problems of a block's file: the errors of its newest content when that content did not load. */
  currentErrors(kind: BlockKind, name: string): Rejection | undefined {
    const file = this.fileOf(kind, name);
    const rec = file ? this.files.get(file) : undefined;
    return rec?.rejection ?? undefined;
  }

  fileRecords(): Array<Readonly<FileRecord>> {
    return [...this.files.values()].sort((a, b) => a.file.localeCompare(b.file));
  }

  /** Names of blocks a rejected file tried to define that the catalog does not have. */
  rejectedOnly(): Array<{ kind: BlockKind; name: string; rejection: Rejection }> {
    const out: Array<{ kind: BlockKind; name: string; rejection: Rejection }> = [];
    for (const [key, rejection] of this.lastRejected) {
      const [kind, name] = splitKey(key);
      const map = kind === 'macro' ? this.catalog.macros : this.catalog.automacros;
      const rec = this.files.get(rejection.file);
      if (!map.has(name) && rec?.rejection === rejection) out.push({ kind, name, rejection });
    }
    return out;
  }

  // ---------------------------------------------------------------- executions

  /**
   * Takes the read locks of `name` and of every macro it calls (statically), waiting for a
   * reload in progress (bounded). The returned catalog is the one the execution runs on: it
   * cannot change for the held macros until the lease is released.
   */
  async acquireForExecution(name: string, options: { signal?: AbortSignal; task: string }): Promise<ExecutionLease> {
    let keys = new Set<string>();
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = this.catalog;
      this.assertExecutable(before, name);
      for (const n of callClosure(name, before)) keys.add(n);
      const release = await this.locks.acquire(keys, 'read', {
        timeoutMs: this.options.executionLockTimeoutMs,
        signal: options.signal ?? this.shutdown.signal,
        task: options.task,
      });
      const cat = this.catalog;
      const closure = callClosure(name, cat);
      if (closure.every((n) => keys.has(n))) {
        const entry = cat.macros.get(name);
        if (!entry || entry.retiring) {
          release();
          this.assertExecutable(cat, name);
        }
        const names = [...keys];
        this.adjust(this.active, names, +1);
        let released = false;
        return {
          catalog: cat,
          entry: entry!,
          names,
          release: () => {
            if (released) return;
            released = true;
            this.adjust(this.active, names, -1);
            release();
          },
        };
      }
      // A reload changed the call graph between the look and the locks: take the new closure too.
      release();
      keys = new Set([...keys, ...closure]);
    }
    throw new MacroReloadUnavailableError(`The call graph of macro "${name}" kept changing; try again`);
  }

  private assertExecutable(cat: Catalog, name: string): void {
    const entry = cat.macros.get(name);
    if (!entry) throw new MacroNotFoundError(name);
    if (entry.retiring) throw new MacroRetiredError(name);
  }

  private adjust(map: Map<string, number>, names: readonly string[], delta: number): void {
    for (const n of names) {
      const v = (map.get(n) ?? 0) + delta;
      if (v <= 0) map.delete(n);
      else map.set(n, v);
    }
  }
}

function splitKey(key: string): [BlockKind, string] {
  const i = key.indexOf(':');
  return [key.slice(0, i) as BlockKind, key.slice(i + 1)];
}

/** Literal `call` targets of a block (variables are resolved at run time). */
export function staticCalls(block: Block): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  const visit = (statements: Statement[]) =>
    walk(statements, (s) => {
      if (s.type === 'call' && !s.target.startsWith('$')) out.push({ target: s.target, line: s.line });
    });
  if (block.kind === 'macro') visit(block.body);
  else if (block.call?.inline) visit(block.call.inline);
  else if (block.call?.target && !block.call.target.startsWith('$')) out.push({ target: block.call.target, line: block.call.line });
  return out;
}

/** `name` and every macro it can reach through literal calls, as defined in `cat`. */
export function callClosure(name: string, cat: Catalog): string[] {
  const seen = new Set<string>([name]);
  const queue = [name];
  while (queue.length > 0) {
    const entry = cat.macros.get(queue.shift()!);
    if (!entry) continue;
    for (const call of staticCalls(entry.block)) {
      if (!seen.has(call.target) && cat.macros.has(call.target)) {
        seen.add(call.target);
        queue.push(call.target);
      }
    }
  }
  return [...seen];
}

/** Whether MACRO_DIR exists (and is a folder); returns its real path. */
export async function realDir(dir: string): Promise<string | null> {
  try {
    const real = await fsp.realpath(dir);
    const stat = await fsp.stat(real);
    return stat.isDirectory() ? real : null;
  } catch {
    return null;
  }
}
