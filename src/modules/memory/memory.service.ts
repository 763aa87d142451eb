import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { type CatalogLock, InjectLock, LockName, withLock } from '../../common/concurrency';
import { DatabaseService } from '../../common/database/database.service';
import { PeriodicJobs } from '../../common/scheduling';
import { SessionNotFoundError, SessionService } from '../session';
import { AccessCountBuffer } from './access-count-buffer';
import { type ConsolidationResult, ConsolidationRunner } from './consolidation-runner';
import { embeddingInput } from './embedding/canonical-json';
import { encodeEmbedding } from './embedding/embedding-codec';
import { EmbeddingGenerator, type EmbeddingGeneratorStats } from './embedding/embedding-generator';
import type { EmbeddingInput, JsonValue } from './embedding/embedding-provider';
import { int8DotModule } from './index/int8-dot-kernel';
import type { IndexMemoryUsage, VectorIndex } from './index/vector-index';
import { MemoryIndexCache, round3, tagOf, typeOf } from './memory-index-cache';
import { DEFAULT_MEMORY_TYPE, DEFAULT_TOP_K, MAX_TOP_K, type MemoryType } from './memory.constants';
import { EventTooLargeError, MemoryFullError } from './memory.errors';
import { MEMORY_OPTIONS, type MemoryOptions } from './memory.options';

export { ACCESS_SLICE_ROWS } from './access-count-buffer';
export type { ConsolidationResult } from './consolidation-runner';

export type JsonObject = { [key: string]: JsonValue };

export interface MemoryInput {
  event: JsonObject;
  /** 0..1. */
  importance: number;
  memory_type?: MemoryType;
}

export interface StoredMemory {
  memory_id: number;
  /** Always true: every memory is stored with its embedding. */
  embedding_generated: true;
  /** The embedding came from the cache or an identical computation in flight (not computed for this request). */
  embedding_cached: boolean;
  stored_at: string;
}

export interface RetrievedMemory {
  memory_id: number;
  memory_type: MemoryType;
  event: JsonValue;
  importance: number;
  /** When the memory was stored (ISO 8601). */
  timestamp: string;
  /** Cosine similarity with the current state, -1..1, descending in a result. */
  similarity: number;
  access_count: number;
  merged_count: number;
}

export interface RetrieveResult {
  memories: RetrievedMemory[];
  /** The session's memories the query ran over. */
  total_memories: number;
  query_time_ms: number;
}

export interface MemoryStats {
  sessions_loaded: number;
  memories_indexed: number;
  index_bytes: number;
  pending_access_updates: number;
  consolidations: number;
  consolidations_running: number;
  simd: boolean;
  embedding: EmbeddingGeneratorStats;
}

interface Prepared {
  input: EmbeddingInput;
  json: string;
  importance: number;
  type: MemoryType;
}

const INSERT_SQL = `INSERT INTO memories (session_id, memory_type, event, importance, embedding, embedding_model, dims, access_count, merged_count, created_at, updated_at, decayed_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?, ?)`;

/** The periodic jobs: retrieval counts written in slices, and the consolidation sweep. */
export const MEMORY_ACCESS_FLUSH_JOB = 'memory.access-flush';
export const MEMORY_CONSOLIDATE_JOB = 'memory.consolidate';

/**
 * Long-term memory (docs/architecture.md §11): per session, memories with embeddings in `memories` (the durable
 * record) and an in-memory index (vectors, metadata and the events' JSON: the read model),
 * loaded on first use and kept coherent with every write.
 *
 * Locking (MEMORY, a keyed RW lock, order 7, one per session):
 * - store and retrieve take the session's lock in READ mode, so they overlap (as the spec's read
 *   path intends). A store publishes to the index only after its transaction committed
 *   (DatabaseService.write: DATABASE lock, order 9), in one synchronous step, so concurrent stores
 *   never interleave inside the index and the index never holds a row the table does not.
 *   A retrieval reads only the index, synchronously: one consistent view.
 * - Embeddings are computed before MEMORY is taken (the generator's semaphore, order 8, is
 *   released by then), so a slow encoder never holds back a consolidation.
 * - Consolidation plans over a snapshot and builds the new index off to the side without any
 *   lock (rows below the snapshot never change: the index is append-only between swaps), commits
 *   all its database changes in one transaction (readers do not read the table, so they keep
 *   seeing the old state), then takes WRITE only to carry over the rows stored meanwhile and swap
 *   the index: a reader sees all before or all after, and the exclusive part is milliseconds.
 * - Retrieval counts are kept in memory and written in batches (per session, under its READ
 *   lock; held back while the session is being consolidated, which moves counts between rows).
 */
@Injectable()
export class MemoryService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(MemoryService.name);
  /** The per-session indexes (the read model), loaded on first use. */
  private readonly cache: MemoryIndexCache;
  /** Retrieval counts, written in batches. */
  private readonly access: AccessCountBuffer;
  private readonly consolidation: ConsolidationRunner;
  /** Rows being stored (between capacity check and index add), per session. */
  private readonly reserved = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    @Inject(MEMORY_OPTIONS) private readonly options: MemoryOptions,
    private readonly db: DatabaseService,
    private readonly sessions: SessionService,
    @InjectLock(LockName.MEMORY) private readonly lock: CatalogLock<typeof LockName.MEMORY>,
    private readonly embeddings: EmbeddingGenerator,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    this.now = options.now ?? Date.now;
    this.cache = new MemoryIndexCache(db, embeddings, sessions, options, this.logger);
    this.access = new AccessCountBuffer(db, lock, (id) => this.consolidation.isRunning(id), this.logger);
    this.consolidation = new ConsolidationRunner(options, db, sessions, lock, this.cache, this.access, this.now, this.logger);
  }

  onModuleInit(): void {
    this.sessions.onSessionExpired((sessionId) => this.forget(sessionId));
    // Taken over from another instance, or lost to one (SessionService.adopt / evict): the index
    // this instance loaded may miss memories stored elsewhere, and a lost session is no longer
    // this instance's to consolidate. Reloaded from the table on next use here.
    this.sessions.onSessionAdopted((sessionId) => this.forget(sessionId));
    this.jobs.register(MEMORY_ACCESS_FLUSH_JOB, { intervalMs: this.options.accessFlushMs, run: () => this.flushAccessCounts() });
    this.jobs.register(MEMORY_CONSOLIDATE_JOB, {
      intervalMs: this.options.consolidateIntervalMs,
      run: () => this.consolidateDue(),
      onError: (err) => this.logger.error({ err }, 'memory consolidation sweep failed'),
    });
  }

  // Before TypeORM closes the connection in its own shutdown hook.
  async beforeApplicationShutdown(): Promise<void> {
    this.cache.close();
    // No new sweep or consolidation from here; the running ones (the sweep's included) are awaited.
    const consolidations = this.consolidation.close();
    void this.jobs.stop(MEMORY_CONSOLIDATE_JOB);
    await this.jobs.stop(MEMORY_ACCESS_FLUSH_JOB);
    await consolidations;
    // The last access flush, after the consolidations that move counts between rows.
    await this.flushAccessCounts();
    await this.embeddings.provider.close?.();
  }

  // ---------------------------------------------------------------- store

  async store(sessionId: string, memory: MemoryInput): Promise<StoredMemory> {
    const [stored] = await this.storeMany(sessionId, [memory]);
    return stored;
  }

  /** Stores all or none of `memories`, in one transaction. */
  async storeMany(sessionId: string, memories: readonly MemoryInput[]): Promise<StoredMemory[]> {
    this.assertSession(sessionId);
    if (memories.length === 0) return [];
    const prepared = memories.map((m, i): Prepared => {
      const field = memories.length === 1 ? 'event' : `memories[${i}].event`;
      return { input: this.prepare(m.event, field), json: JSON.stringify(m.event), importance: m.importance, type: m.memory_type ?? DEFAULT_MEMORY_TYPE };
    });
    const vectors = await this.embeddings.embedMany(prepared.map((p) => p.input));
    const model = this.embeddings.model;
    const dims = this.embeddings.dimensions;
    return withLock(
      this.lock,
      async () => {
        const index = await this.cache.indexFor(sessionId);
        this.reserve(sessionId, index, prepared.length);
        try {
          const now = this.now();
          const ids = await this.db.write(
            async (tx) => {
              const out: number[] = [];
              for (const [i, p] of prepared.entries()) {
                const { lastInsertRowid } = await tx.run(INSERT_SQL, [sessionId, p.type, p.json, p.importance, encodeEmbedding(vectors[i].vector), model, dims, now, now, now]);
                out.push(Number(lastInsertRowid));
              }
              return out;
            },
            { label: 'memory.store' },
          );
          // Committed: publish to the index in one synchronous step.
          ids.forEach((id, i) => {
            const p = prepared[i];
            index.add({ id, importance: p.importance, createdAt: now, decayedAt: now, accessCount: 0, mergedCount: 1, tag: tagOf(p.type) }, vectors[i].vector, p.json);
          });
          this.consolidation.markChanged(sessionId);
          const storedAt = new Date(now).toISOString();
          return ids.map((id, i) => ({ memory_id: id, embedding_generated: true as const, embedding_cached: vectors[i].source !== 'computed', stored_at: storedAt }));
        } finally {
          this.unreserve(sessionId, prepared.length);
        }
      },
      { key: sessionId, mode: 'read' },
    );
  }

  // ------------------------------------------------------------- retrieve

  async retrieve(sessionId: string, currentState: JsonObject, topK: number = DEFAULT_TOP_K): Promise<RetrieveResult> {
    const started = performance.now();
    this.assertSession(sessionId);
    const k = Math.max(1, Math.min(MAX_TOP_K, Math.floor(topK)));
    const { vector } = await this.embeddings.embed(this.prepare(currentState, 'current_state'));
    return withLock(
      this.lock,
      async () => {
        const index = await this.cache.indexFor(sessionId);
        // From here to the return nothing awaits, and everything comes from the index (events
        // included): one consistent view, whatever consolidation is doing in the database.
        const hits = index.search(vector, k);
        const now = this.now();
        const memories: RetrievedMemory[] = [];
        for (const hit of hits) {
          index.touch(hit.slot);
          this.access.count(sessionId, hit.id, now);
          const record = index.record(hit.slot);
          memories.push({
            memory_id: hit.id,
            memory_type: typeOf(record.tag),
            event: JSON.parse(index.payloadAt(hit.slot)) as JsonValue,
            importance: record.importance,
            timestamp: new Date(record.createdAt).toISOString(),
            similarity: hit.similarity,
            access_count: record.accessCount,
            merged_count: record.mergedCount,
          });
        }
        return { memories, total_memories: index.size, query_time_ms: round3(performance.now() - started) };
      },
      { key: sessionId, mode: 'read' },
    );
  }

  // ---------------------------------------------------------- consolidate

  /**
   * Merges near-duplicates and decays old unimportant memories. One consolidation runs per
   * session at a time; a call arriving while one runs gets the next one (started when the
   * running one ends, shared by every call that arrived meanwhile), so its result always covers
   * the memories stored before the call.
   */
  consolidate(sessionId: string): Promise<ConsolidationResult> {
    return this.consolidation.consolidate(sessionId);
  }

  /** Timer: consolidates, one after another, the loaded sessions with new memories (and now and then the others, for decay). */
  consolidateDue(): Promise<void> {
    return this.consolidation.consolidateDue();
  }

  /** Writes the retrieval counts gathered since the last flush (one transaction per session). */
  flushAccessCounts(): Promise<void> {
    return this.access.flush();
  }

  // ---------------------------------------------------------------- stats

  stats(): MemoryStats {
    return {
      ...this.cache.stats(),
      pending_access_updates: this.access.size,
      consolidations: this.consolidation.total,
      consolidations_running: this.consolidation.running,
      simd: this.options.simd !== false && int8DotModule() !== null,
      embedding: this.embeddings.stats(),
    };
  }

  /** Memory use of one session's loaded index (undefined when not loaded). */
  indexMemoryUsage(sessionId: string): IndexMemoryUsage | undefined {
    return this.cache.memoryUsage(sessionId);
  }

  /** Drops a session's in-memory index (it is reloaded from the database on next use). */
  forget(sessionId: string): void {
    this.cache.delete(sessionId);
    this.consolidation.forget(sessionId);
  }

  // ------------------------------------------------------------- internals

  private assertSession(sessionId: string): void {
    if (!this.sessions.exists(sessionId)) throw new SessionNotFoundError(sessionId);
  }

  private prepare(value: JsonObject, field: string): EmbeddingInput {
    const input = embeddingInput(value);
    const bytes = Buffer.byteLength(input.canonical);
    if (bytes > this.options.maxEventBytes) throw new EventTooLargeError(field, bytes, this.options.maxEventBytes);
    return input;
  }

  private reserve(sessionId: string, index: VectorIndex, count: number): void {
    const inFlight = this.reserved.get(sessionId) ?? 0;
    if (index.size + inFlight + count > this.options.maxPerSession) {
      this.consolidation.schedule(sessionId);
      throw new MemoryFullError(sessionId, index.size + inFlight, this.options.maxPerSession);
    }
    this.reserved.set(sessionId, inFlight + count);
  }

  private unreserve(sessionId: string, count: number): void {
    const left = (this.reserved.get(sessionId) ?? count) - count;
    if (left > 0) this.reserved.set(sessionId, left);
    else this.reserved.delete(sessionId);
  }
}
