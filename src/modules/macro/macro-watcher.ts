import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMacroFileName } from './macro-paths';
import type { RegistryLogger } from './registry/macro-registry';

/** The part of fs.FSWatcher the watcher uses (tests inject a fake). */
export interface WatchHandle {
  close(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export type WatchFn = (dir: string, listener: (event: string, filename: string | Buffer | null) => void) => WatchHandle;

export interface MacroWatcherOptions {
  /** Quiet time after the last event of a file before it is read (a file written in chunks is read once). */
  debounceMs: number;
  /** A file that keeps changing is still read at least this often. Default: max(1 s, 10 × debounce). */
  maxWaitMs?: number;
  logger: RegistryLogger;
  watch?: WatchFn;
}

const RESCAN = '\0rescan';

const nodeWatch: WatchFn = (dir, listener) => fs.watch(dir, { recursive: true, persistent: true }, listener);

/**
 * Watches MACRO_DIR recursively and turns file-system events into debounced per-file
 * notifications. Editors replace files in several ways (write in place, write a temporary file
 * and rename it over, delete and recreate): whatever the events, the file's path is notified once
 * the events stop for `debounceMs`, and the registry then reads whatever is on disk. Events
 * without a file name, or about folders, trigger a (debounced) full rescan. Temporary dot files
 * and non-`.txt` files are ignored.
 */
export class MacroWatcher {
  private handle: WatchHandle | undefined;
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; firstAt: number }>();
  private stopped = false;
  private readonly maxWaitMs: number;
  private readonly watchFn: WatchFn;

  constructor(
    private readonly dir: string,
    private readonly onFile: (file: string) => void,
    private readonly onRescan: () => void,
    private readonly options: MacroWatcherOptions,
  ) {
    this.maxWaitMs = options.maxWaitMs ?? Math.max(1000, options.debounceMs * 10);
    this.watchFn = options.watch ?? nodeWatch;
  }

  /** Whether the OS watch is live (false before start, after an error, after close). */
  get watching(): boolean {
    return this.handle !== undefined;
  }

  /** Number of debounce timers pending (tests). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Starts (or restarts) the OS watch; returns whether watching works. Periodic rescans are MacroService's. */
  start(): boolean {
    if (this.stopped) return false;
    if (this.handle) return true;
    try {
      const handle = this.watchFn(this.dir, (event, filename) => this.onEvent(event, filename));
      handle.on('error', (err) => {
        this.options.logger.warn({ err, dir: this.dir }, 'macro folder watch failed; relying on rescans until it restarts');
        this.closeHandle(handle);
        this.notify(RESCAN);
      });
      this.handle = handle;
      return true;
    } catch (err) {
      this.options.logger.warn({ err, dir: this.dir }, 'cannot watch the macro folder; relying on periodic rescans');
      return false;
    }
  }

  /** Debounced notification of one file (relative, '/'-separated), or of a full rescan. */
  notify(file: string): void {
    if (this.stopped) return;
    const now = Date.now();
    const existing = this.timers.get(file);
    if (existing) clearTimeout(existing.timer);
    const firstAt = existing?.firstAt ?? now;
    const delay = Math.max(0, Math.min(this.options.debounceMs, firstAt + this.maxWaitMs - now));
    const timer = setTimeout(() => this.fire(file), delay);
    this.timers.set(file, { timer, firstAt });
  }

  /** Stops watching; clears every timer. Idempotent. */
  close(): void {
    this.stopped = true;
    if (this.handle) this.closeHandle(this.handle);
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private closeHandle(handle: WatchHandle): void {
    if (this.handle === handle) this.handle = undefined;
    try {
      handle.close();
    } catch {
      /* already closed */
    }
  }

  private fire(file: string): void {
    this.timers.delete(file);
    if (this.stopped) return;
    try {
      if (file === RESCAN) this.onRescan();
      else this.onFile(file);
    } catch (err) {
      this.options.logger.error({ err, file }, 'macro watcher callback failed');
    }
  }

  private onEvent(_event: string, filename: string | Buffer | null): void {
    if (filename === null || filename === undefined) {
      this.notify(RESCAN);
      return;
    }
    const rel = filename.toString().split(path.sep).join('/');
    if (isMacroFileName(rel)) {
      this.notify(rel);
      return;
    }
    const segments = rel.split('/');
    if (segments.some((s) => s.startsWith('.') || s === '')) return;
    // A folder appeared, vanished or was renamed: its files come and go with it.
    if (path.posix.extname(rel) === '') this.notify(RESCAN);
  }
}
