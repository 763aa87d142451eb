/**
 * A MemoryService over a real SQLite file without Nest: for the unit specs and the benchmark
 * (no jest dependency, so it also compiles into dist/ for `npm run bench`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLockManager, type LockManager, LockName, LockOrder } from '../../common/concurrency';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { CreateMemories1764461100000 } from '../../common/database/migrations/1764461100000-create-memories';
import type { SessionService } from '../session';
import { EmbeddingGenerator } from './embedding/embedding-generator';
import type { EmbeddingProvider } from './embedding/embedding-provider';
import { HashingEmbeddingProvider } from './embedding/hashing-embedding.provider';
import { DECAY_BELOW, MAX_CONSOLIDATION_CHANGES, PRUNE_BELOW } from './memory.constants';
import type { MemoryOptions } from './memory.options';
import { MemoryService } from './memory.service';

/** The SessionService methods the memory module uses, over a plain set of ids. */
export class StaticSessions {
  private readonly ids = new Set<string>();
  private readonly listeners: Array<(id: string) => void> = [];
  private readonly adoptedListeners: Array<(id: string) => void> = [];

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.ids.add(id);
  }

  add(id: string): void {
    this.ids.add(id);
  }

  exists(id: string): boolean {
    return this.ids.has(id);
  }

  onSessionExpired(listener: (id: string) => void): void {
    this.listeners.push(listener);
  }

  onSessionAdopted(listener: (id: string) => void): void {
    this.adoptedListeners.push(listener);
  }

  expire(id: string): void {
    this.ids.delete(id);
    for (const l of this.listeners) l(id);
  }

  /** The session moved to another instance (`lost`) or was taken over from one: reloaded on next use. */
  adopt(id: string, lost = false): void {
    if (lost) this.ids.delete(id);
    for (const l of this.adoptedListeners) l(id);
  }
}

export const TEST_MEMORY_OPTIONS: MemoryOptions = {
  maxPerSession: 100_000,
  maxEventBytes: 16_384,
  consolidateIntervalMs: 0,
  accessFlushMs: 0,
  mergeSimilarity: 0.97,
  decayHalfLifeMs: 7 * 24 * 3_600_000,
  decayBelow: DECAY_BELOW,
  pruneBelow: PRUNE_BELOW,
  maxChangesPerConsolidation: MAX_CONSOLIDATION_CHANGES,
};

export interface StandaloneMemory {
  service: MemoryService;
  generator: EmbeddingGenerator;
  database: StandaloneDatabase;
  sessions: StaticSessions;
  locks: LockManager;
  file: string;
  /** Another service over the same database file and sessions (e.g. with another provider). */
  reopen(options?: { provider?: EmbeddingProvider; options?: Partial<MemoryOptions> }): MemoryService;
  close(): Promise<void>;
}

export interface StandaloneMemoryOptions {
  options?: Partial<MemoryOptions>;
  provider?: EmbeddingProvider;
  sessions?: Iterable<string>;
  permits?: number;
  cacheSize?: number;
  /** Existing database file (else a new temporary one). */
  file?: string;
  /** Calls onModuleInit (timers) — default true. */
  init?: boolean;
}

export async function createStandaloneMemory(opts: StandaloneMemoryOptions = {}): Promise<StandaloneMemory> {
  const ownDir = opts.file ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'okai-memory-'));
  const file = opts.file ?? path.join(ownDir!, 'memory.db');
  const locks = createLockManager();
  const database = openStandaloneDatabase(file, locks);
  if (!opts.file) await applyMigrations(database.connection, [CreateMemories1764461100000]);
  const sessions = new StaticSessions(opts.sessions);
  const services: MemoryService[] = [];
  const build = (provider: EmbeddingProvider, options: Partial<MemoryOptions>) => {
    const semaphore = locks.semaphore(`memory.embedding.${services.length}`, LockOrder.EMBEDDING, opts.permits ?? 5);
    const generator = new EmbeddingGenerator(provider, semaphore, opts.cacheSize ?? 1_000);
    const service = new MemoryService({ ...TEST_MEMORY_OPTIONS, ...opts.options, ...options }, database.service, sessions as unknown as SessionService, locks.resolve(LockName.MEMORY), generator);
    if (opts.init !== false) service.onModuleInit();
    services.push(service);
    return { service, generator };
  };
  const first = build(opts.provider ?? new HashingEmbeddingProvider(), {});
  return {
    ...first,
    database,
    sessions,
    locks,
    file,
    reopen: (o = {}) => build(o.provider ?? new HashingEmbeddingProvider(), o.options ?? {}).service,
    close: async () => {
      for (const s of services) await s.beforeApplicationShutdown();
      database.close();
      if (ownDir) fs.rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
