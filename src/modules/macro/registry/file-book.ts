import type { Diagnostic, MacroDocument } from '../language/ast';
import { type BlockKind, versionKey } from '../macro-version.store';

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

/** A block of a file as eventMacro sees it: loaded, or ignored (with why). */
export interface BlockReport {
  kind: BlockKind | 'sub';
  name: string;
  line: number;
  status: 'loaded' | 'ignored';
  /** Why eventMacro ignores it. */
  reason: Diagnostic | null;
  /** What in it only the bot can evaluate. */
  evaluated_by_bot: string[];
}

export interface FileRecord {
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
  /** Lower-cased names (and `include:<file>`) whose appearance or removal in another file may change this file's verdict. */
  crossRefs: ReadonlySet<string>;
  /** Of the content that serves: its blocks and the warnings eventMacro would give. */
  blocks: BlockReport[];
  warnings: Diagnostic[];
}

export function blockReports(doc: MacroDocument): BlockReport[] {
  const all = [...doc.blocks, ...doc.subs].sort((a, b) => a.line - b.line);
  return all.map((b) => ({
    kind: b.kind,
    name: b.name,
    line: b.line,
    status: b.ignored ? 'ignored' : 'loaded',
    reason: b.ignored,
    evaluated_by_bot: b.evaluatedByBot,
  }));
}

/** The files the registry has seen, and the last refused edit of each block (kept after a later fix). */
export class FileBook {
  private readonly files = new Map<string, FileRecord>();
  private readonly lastRejected = new Map<string, Rejection>();

  get(file: string): FileRecord | undefined {
    return this.files.get(file);
  }

  has(file: string): boolean {
    return this.files.has(file);
  }

  delete(file: string): boolean {
    return this.files.delete(file);
  }

  names(): string[] {
    return [...this.files.keys()];
  }

  all(): FileRecord[] {
    return [...this.files.values()].sort((a, b) => a.file.localeCompare(b.file));
  }

  record(file: string): FileRecord {
    let rec = this.files.get(file);
    if (!rec) {
      rec = {
        file,
        lastHash: null,
        stat: null,
        loadedHash: null,
        loadedAt: null,
        status: 'rejected',
        rejection: null,
        retryOnRescan: false,
        crossRefs: new Set(),
        blocks: [],
        warnings: [],
      };
      this.files.set(file, rec);
    }
    return rec;
  }

  /** Whether the last content read reached a final state (served, or refused for its own content). */
  settled(rec: FileRecord): boolean {
    if (rec.lastHash === null) return false;
    if (rec.lastHash === rec.loadedHash && rec.rejection === null) return true;
    return rec.rejection !== null && !rec.retryOnRescan;
  }

  markLoaded(rec: FileRecord, hash: string, at: number, doc: MacroDocument, warnings: Diagnostic[], crossRefs: readonly string[]): void {
    rec.loadedHash = hash;
    rec.loadedAt = at;
    rec.status = 'loaded';
    rec.rejection = null;
    rec.retryOnRescan = false;
    rec.crossRefs = new Set(crossRefs);
    rec.blocks = blockReports(doc);
    rec.warnings = warnings;
  }

  /** Records a refusal of `rec`'s newest content and remembers it for the blocks it concerns. */
  reject(rec: FileRecord, rejection: Rejection, keys: Iterable<string>, opts: { retryOnRescan?: boolean; crossRefs?: readonly string[] }): void {
    rec.rejection = rejection;
    rec.retryOnRescan = opts.retryOnRescan ?? false;
    if (opts.crossRefs) rec.crossRefs = new Set(opts.crossRefs);
    if (rec.status !== 'retiring') rec.status = rec.loadedHash ? 'loaded' : 'rejected';
    for (const key of keys) this.lastRejected.set(key, rejection);
    if (this.lastRejected.size > 10_000) this.lastRejected.delete(this.lastRejected.keys().next().value!);
  }

  lastRejection(kind: BlockKind, name: string): Rejection | undefined {
    return this.lastRejected.get(versionKey(kind, name));
  }

  /** Blocks a refused file tried to define that nothing serves (`present` says whether the catalog has one). */
  rejectedOnly(present: (kind: BlockKind, name: string) => boolean): Array<{ kind: BlockKind; name: string; rejection: Rejection }> {
    const out: Array<{ kind: BlockKind; name: string; rejection: Rejection }> = [];
    for (const [key, rejection] of this.lastRejected) {
      const i = key.indexOf(':');
      const kind = key.slice(0, i) as BlockKind;
      const name = key.slice(i + 1);
      if (!present(kind, name) && this.files.get(rejection.file)?.rejection === rejection) out.push({ kind, name, rejection });
    }
    return out;
  }
}
