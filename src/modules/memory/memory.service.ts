import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { PeriodicJobs } from '../../common/scheduling';
import { type CatalogLock, InjectLock, LockName, runInTask, withLock } from '../../common/concurrency';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import { SessionNotFoundError } from '../session';
import { SessionService } from '../session';
import { planConsolidation, PRUNED } from './consolidation';
import { embeddingInput } from './embedding/canonical-json';
import { decodeEmbedding, encodeEmbedding } from './embedding/embedding-codec';
import { EmbeddingGenerator, type EmbeddingGeneratorStats } from './embedding/embedding-generator';
import type { EmbeddingInput, JsonValue } from './embedding/embedding-provider';
import { int8DotModule } from './index/int8-dot-kernel';
import { type IndexMemoryUsage, VectorIndex } from './index/vector-index';
import { DEFAULT_MEMORY_TYPE, DEFAULT_TOP_K, MAX_TOP_K, MEMORY_TYPES, type MemoryType, PRUNE_TARGET_SHARE } from './memory.constants';
import { EventTooLargeError, MemoryFullError } from './memory.errors';
import { MEMORY_OPTIONS, type MemoryOptions } from './memory.options';
import { yieldToLoop } from '../../common/async/wait';
import { SerialTask } from '../../common/async/serial-task';

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

export interface ConsolidationResult {
  session_id: string;
  before: number;
  after: number;
  /** Near-duplicates merged into a kept memory. */
  merged: number;
  /** Low-importance memories whose importance decayed. */
  decayed: number;
  /** Memories deleted because their importance decayed away, or to make room. */
  pruned: number;
  /** Memories stored while the consolidation was being planned, carried into the new index. */
  carried_over: number;
  /** False when the change budget left work for the next consolidation. */
  complete: boolean;
  duration_ms: number;
  /** The database transaction (DATABASE lock; better-sqlite3 runs it on the event loop). */
  database_ms: number;
  /** How long readers and writers of this session were held off (the swap). */
  exclusive_ms: number;
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

interface MemoryRow {
  id: number;
  memory_type: string;
  event: string;
  importance: number;
  embedding: Buffer;
  embedding_model: string;
  dims: number;
  access_count: number;
  merged_count: number;
  created_at: number | string;
  decayed_at: number | string;
}

interface AccessDelta {
  count: number;
  last: number;
}

interface Prepared {
  input: EmbeddingInput;
  json: string;
  importance: number;
  type: MemoryType;
}

const INSERT_SQL = `INSERT INTO memories (session_id, memory_type, event, importance, embedding, embedding_model, dims, access_count, merged_count, created_at, updated_at, decayed_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?, ?)`;
const LOAD_PAGE = 2_000;
const ID_CHUNK = 500;
const BUILD_YIELD_EVERY = 8_192;
/** Access-count updates per transaction: ~2 µs each, ~0.5 ms of loop time a slice. */
export const ACCESS_SLICE_ROWS = 256;

/** The periodic jobs: retrieval counts written in slices, and the consolidation sweep. */
export const MEMORY_ACCESS_FLUSH_JOB = 'memory.access-flush';
export const MEMORY_CONSOLIDATE_JOB = 'memory.consolidate';

/** Unchanged sessions are still consolidated (for decay) every this many intervals. */
const DECAY_ONLY_EVERY = 6;

const tagOf = (type: MemoryType): number => MEMORY_TYPES.indexOf(type);
const typeOf = (tag: number): MemoryType => MEMORY_TYPES[tag] ?? DEFAULT_MEMORY_TYPE;
const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

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
  private readonly indexes = new Map<string, VectorIndex>();
  private readonly loading = new Map<string, Promise<VectorIndex>>();
  /** Rows being stored (between capacity check and index add), per session. */
  private readonly reserved = new Map<string, number>();
  private readonly pendingAccess = new Map<string, Map<number, AccessDelta>>();
  private readonly consolidating = new Map<string, Promise<ConsolidationResult>>();
  private readonly queuedConsolidation = new Map<string, Promise<ConsolidationResult>>();
  /** Sessions with memories stored since their last consolidation. */
  private readonly changed = new Set<string>();
  private readonly lastConsolidated = new Map<string, number>();
  private readonly now: () => number;
  private consolidations = 0;
  private readonly accessFlusher = new SerialTask(() => this.flushOnce());
  private sweeping: Promise<void> | undefined;
  private closed = false;

  constructor(
    @Inject(MEMORY_OPTIONS) private readonly options: MemoryOptions,
    private readonly db: DatabaseService,
    private readonly sessions: SessionService,
    @InjectLock(LockName.MEMORY) private readonly lock: CatalogLock<typeof LockName.MEMORY>,
    private readonly embeddings: EmbeddingGenerator,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    this.now = options.now ?? Date.now;
  }

  onModuleInit(): void {
    this.sessions.onSessionExpired((sessionId) => this.forget(sessionId));
    this.jobs.register(MEMORY_ACCESS_FLUSH_JOB, { intervalMs: this.options.accessFlushMs, run: () => this.flushAccessCounts() });
    this.jobs.register(MEMORY_CONSOLIDATE_JOB, {
      intervalMs: this.options.consolidateIntervalMs,
      run: () => this.consolidateDue(),
      onError: (err) => this.logger.error({ err }, 'memory consolidation sweep failed'),
    });
  }

  // Before TypeORM closes the connection in its own shutdown hook.
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    // The sweep in flight is awaited below with the consolidations; the last access flush runs after it.
    void this.jobs.stop(MEMORY_CONSOLIDATE_JOB);
    await this.jobs.stop(MEMORY_ACCESS_FLUSH_JOB);
    await Promise.allSettled([...this.consolidating.values(), ...this.queuedConsolidation.values(), this.sweeping]);
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
        const index = await this.indexFor(sessionId);
        this.reserve(sessionId, index, prepared.length);
        try {
          const now = this.now();
          const ids = await this.db.write(
            (tx) =>
              prepared.map((p, i) =>
                Number(tx.run(INSERT_SQL, [sessionId, p.type, p.json, p.importance, encodeEmbedding(vectors[i].vector), model, dims, now, now, now]).lastInsertRowid),
              ),
            { label: 'memory.store' },
          );
          // Committed: publish to the index in one synchronous step.
          ids.forEach((id, i) => {
            const p = prepared[i];
            index.add({ id, importance: p.importance, createdAt: now, decayedAt: now, accessCount: 0, mergedCount: 1, tag: tagOf(p.type) }, vectors[i].vector, p.json);
          });
          this.changed.add(sessionId);
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
        const index = await this.indexFor(sessionId);
        // From here to the return nothing awaits, and everything comes from the index (events
        // included): one consistent view, whatever consolidation is doing in the database.
        const hits = index.search(vector, k);
        const now = this.now();
        const memories: RetrievedMemory[] = [];
        for (const hit of hits) {
          index.touch(hit.slot);
          this.countAccess(sessionId, hit.id, now);
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
    this.assertSession(sessionId);
    const running = this.consolidating.get(sessionId);
    if (!running) return this.startConsolidation(sessionId);
    let queued = this.queuedConsolidation.get(sessionId);
    if (!queued) {
      queued = running
        .catch(() => undefined)
        .then(() => {
          this.queuedConsolidation.delete(sessionId);
          this.assertSession(sessionId);
          return this.consolidating.get(sessionId) ?? this.startConsolidation(sessionId);
        });
      this.queuedConsolidation.set(sessionId, queued);
    }
    return queued;
  }

  private startConsolidation(sessionId: string): Promise<ConsolidationResult> {
    const run = runInTask(`memory.consolidate[${sessionId}]`, () => this.consolidateOnce(sessionId)).finally(() => this.consolidating.delete(sessionId));
    this.consolidating.set(sessionId, run);
    return run;
  }

  private async consolidateOnce(sessionId: string): Promise<ConsolidationResult> {
    const started = performance.now();
    // 1. Snapshot: the rows the plan covers (loading the index if needed). Rows below it never
    //    change while we work (the index is append-only, and this is the session's only
    //    consolidation); stores append after it.
    const { index, snapshot } = await withLock(
      this.lock,
      async () => {
        const idx = await this.indexFor(sessionId);
        return { index: idx, snapshot: idx.size };
      },
      { key: sessionId, mode: 'read' },
    );
    // 2. Plan, and build the new index off to the side; readers and writers carry on.
    const now = this.now();
    const plan = await planConsolidation(
      index,
      snapshot,
      {
        mergeSimilarity: this.options.mergeSimilarity,
        halfLifeMs: this.options.decayHalfLifeMs,
        decayBelow: this.options.decayBelow,
        pruneBelow: this.options.pruneBelow,
        maxSize: this.options.maxPerSession,
        targetSize: Math.floor(this.options.maxPerSession * PRUNE_TARGET_SHARE),
        maxChanges: this.options.maxChangesPerConsolidation,
      },
      now,
    );
    const n = plan.snapshot;
    const mergedCount = new Float64Array(n);
    const members = new Map<number, number[]>(); // kept row → rows merged into it
    const retired: number[] = []; // ids of merged and pruned rows
    for (let row = 0; row < n; row++) {
      const rep = plan.rep[row];
      if (rep >= 0) mergedCount[rep] += index.record(row).mergedCount;
      if (rep === row) continue;
      retired.push(index.idAt(row));
      if (rep >= 0) {
        const list = members.get(rep);
        if (list) list.push(row);
        else members.set(rep, [row]);
      }
    }
    const next = this.newIndex(plan.kept + (index.size - snapshot) + 64);
    const nextSlot = new Int32Array(n).fill(-1);
    const updates: Array<{ id: number; importance: number; decayedAt: number; mergedCount: number; merged: number[] }> = [];
    for (let row = 0; row < n; row++) {
      if (row > 0 && row % BUILD_YIELD_EVERY === 0) await yieldToLoop();
      if (plan.rep[row] !== row) continue;
      const record = index.record(row);
      nextSlot[row] = next.size;
      // Access counts are filled in at the swap, from the live values.
      next.add({ ...record, importance: plan.importance[row], decayedAt: plan.decayedAt[row], mergedCount: mergedCount[row], accessCount: 0 }, index.vectorAt(row), index.payloadAt(row));
      const group = members.get(row);
      if (group || plan.importance[row] !== record.importance || plan.decayedAt[row] !== record.decayedAt) {
        updates.push({ id: record.id, importance: plan.importance[row], decayedAt: plan.decayedAt[row], mergedCount: mergedCount[row], merged: (group ?? []).map((r) => index.idAt(r)) });
      }
    }

    // 3. The database changes, in one transaction, before the swap: readers never read the
    //    table (the index holds the events), so they keep seeing the old state until step 4.
    //    Access-count flushes of this session are held back meanwhile (they skip sessions being
    //    consolidated), so the counts moved from merged rows to their kept row are exact.
    await this.accessFlusher.current;
    let databaseMs = 0;
    if (updates.length > 0 || retired.length > 0) {
      const dbStart = performance.now();
      await this.db.write(
        (tx) => {
          const retiredAccess = new Map<number, number>();
          for (let i = 0; i < retired.length; i += ID_CHUNK) {
            const chunk = retired.slice(i, i + ID_CHUNK);
            for (const r of tx.all<{ id: number; access_count: number }>(`SELECT id, access_count FROM memories WHERE id IN (${placeholders(chunk.length)})`, chunk)) {
              retiredAccess.set(r.id, r.access_count);
            }
          }
          for (const u of updates) {
            const moved = u.merged.reduce((sum, id) => sum + (retiredAccess.get(id) ?? 0), 0);
            tx.run('UPDATE memories SET importance = ?, decayed_at = ?, merged_count = ?, access_count = access_count + ?, updated_at = ? WHERE id = ?', [
              u.importance,
              u.decayedAt,
              u.mergedCount,
              moved,
              now,
              u.id,
            ]);
          }
          for (let i = 0; i < retired.length; i += ID_CHUNK) {
            const chunk = retired.slice(i, i + ID_CHUNK);
            tx.run(`DELETE FROM memories WHERE session_id = ? AND id IN (${placeholders(chunk.length)})`, [sessionId, ...chunk]);
          }
        },
        { label: 'memory.consolidate' },
      );
      databaseMs = performance.now() - dbStart;
    }

    // 4. The swap, under the session's WRITE lock: no reader or writer of the session runs, so
    //    none sees a half-done state. Synchronous work only: carry over, counts, publish.
    return withLock(
      this.lock,
      () => {
        const exclusiveStart = performance.now();
        const before = index.size;
        const current = this.indexes.get(sessionId) === index;
        if (current) {
          for (let row = snapshot; row < before; row++) next.add(index.record(row), index.vectorAt(row), index.payloadAt(row));
          // Live counts (they include retrievals not yet written): a kept row gets its group's.
          const groupAccess = new Float64Array(n);
          for (let row = 0; row < n; row++) if (plan.rep[row] >= 0) groupAccess[plan.rep[row]] += index.accessCountAt(row);
          for (let row = 0; row < n; row++) if (nextSlot[row] >= 0) next.touch(nextSlot[row], groupAccess[row]);
          this.remapPendingAccess(sessionId, index, plan.rep, n);
          this.indexes.set(sessionId, next);
          // Work left over (change budget) keeps the session due for the next sweep.
          if (plan.truncated) this.changed.add(sessionId);
          else this.changed.delete(sessionId);
          this.lastConsolidated.set(sessionId, this.now());
        }
        // else: the session expired meanwhile and its index was dropped; the table is already
        // consolidated and is what a later load reads.
        this.consolidations++;
        const finished = performance.now();
        const result: ConsolidationResult = {
          session_id: sessionId,
          before,
          after: current ? next.size : before - retired.length,
          merged: plan.merged,
          decayed: plan.decayed,
          pruned: retired.length - plan.merged,
          carried_over: before - snapshot,
          complete: !plan.truncated,
          duration_ms: round3(finished - started),
          database_ms: round3(databaseMs),
          exclusive_ms: round3(finished - exclusiveStart),
        };
        this.logger.log(result, 'memories consolidated');
        return result;
      },
      { key: sessionId, mode: 'write' },
    );
  }

  /** Retrievals of merged rows not yet written now count for the row they merged into; pruned rows' are dropped. */
  private remapPendingAccess(sessionId: string, index: VectorIndex, rep: Int32Array, n: number): void {
    const pending = this.pendingAccess.get(sessionId);
    if (!pending) return;
    for (const [id, delta] of [...pending]) {
      const slot = index.slot(id);
      if (slot === undefined || slot >= n || rep[slot] === slot) continue;
      pending.delete(id);
      if (rep[slot] === PRUNED) continue;
      const keptId = index.idAt(rep[slot]);
      const cur = pending.get(keptId);
      if (cur) {
        cur.count += delta.count;
        cur.last = Math.max(cur.last, delta.last);
      } else {
        pending.set(keptId, delta);
      }
    }
  }

  /** Timer: consolidates, one after another, the loaded sessions with new memories (and now and then the others, for decay). */
  async consolidateDue(): Promise<void> {
    if (this.sweeping || this.closed) return;
    const run = async (): Promise<void> => {
      const now = this.now();
      const idle = this.options.consolidateIntervalMs * DECAY_ONLY_EVERY;
      for (const sessionId of [...this.indexes.keys()]) {
        if (this.closed) return;
        const due = this.changed.has(sessionId) || now - (this.lastConsolidated.get(sessionId) ?? 0) >= idle;
        if (!due || !this.sessions.exists(sessionId)) continue;
        try {
          await this.consolidate(sessionId);
        } catch (err) {
          this.logger.warn({ err, session_id: sessionId }, 'background memory consolidation failed');
        }
      }
    };
    this.sweeping = runInTask('memory.consolidate.timer', run).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private scheduleConsolidation(sessionId: string): void {
    if (this.consolidating.has(sessionId) || this.closed) return;
    setImmediate(() => {
      if (this.closed || !this.sessions.exists(sessionId)) return;
      runInTask('memory.consolidate.full', () => this.consolidate(sessionId)).catch((err: unknown) =>
        this.logger.warn({ err, session_id: sessionId }, 'memory consolidation to make room failed'),
      );
    });
  }

  // -------------------------------------------------------- access counts

  /** Writes the retrieval counts gathered since the last flush (one transaction per session). */
  flushAccessCounts(): Promise<void> {
    return this.accessFlusher.run();
  }

  private async flushOnce(): Promise<void> {
    // While writes fail for lack of space, retrieval counts wait in memory.
    if (this.pendingAccess.size === 0 || this.db.storage.deferBackground()) return;
    let wrote = false;
    for (const sessionId of [...this.pendingAccess.keys()]) {
      // A consolidation moves counts between rows: its session's counts wait for the next flush.
      if (this.consolidating.has(sessionId)) continue;
      try {
        await runInTask('memory.flushAccess', () =>
          withLock(
            this.lock,
            async () => {
              const pending = this.pendingAccess.get(sessionId);
              if (!pending || pending.size === 0) return;
              this.pendingAccess.delete(sessionId);
              const deltas = [...pending];
              // Slices of ACCESS_SLICE_ROWS updates, one transaction each, the loop served between.
              for (let i = 0; i < deltas.length; i += ACCESS_SLICE_ROWS) {
                if (wrote) await yieldToLoop();
                const slice = new Map(deltas.slice(i, i + ACCESS_SLICE_ROWS));
                try {
                  await this.db.write((tx) => applyAccessDeltas(tx, sessionId, slice), { label: 'memory.accessCounts' });
                  wrote = true;
                } catch (err) {
                  this.restoreAccess(sessionId, new Map(deltas.slice(i)));
                  throw err;
                }
              }
            },
            { key: sessionId, mode: 'read' },
          ),
        );
      } catch (err) {
        this.logger.warn({ err, session_id: sessionId }, 'memory access counts not written; kept for the next flush');
      }
    }
  }

  private countAccess(sessionId: string, id: number, now: number): void {
    let pending = this.pendingAccess.get(sessionId);
    if (!pending) this.pendingAccess.set(sessionId, (pending = new Map()));
    const delta = pending.get(id);
    if (delta) {
      delta.count++;
      delta.last = now;
    } else {
      pending.set(id, { count: 1, last: now });
    }
  }

  private restoreAccess(sessionId: string, deltas: Map<number, AccessDelta>): void {
    for (const [id, d] of deltas) {
      let pending = this.pendingAccess.get(sessionId);
      if (!pending) this.pendingAccess.set(sessionId, (pending = new Map()));
      const cur = pending.get(id);
      if (cur) {
        cur.count += d.count;
        cur.last = Math.max(cur.last, d.last);
      } else {
        pending.set(id, { ...d });
      }
    }
  }

  // ---------------------------------------------------------------- stats

  stats(): MemoryStats {
    let memories = 0;
    let bytes = 0;
    for (const index of this.indexes.values()) {
      memories += index.size;
      bytes += index.memoryUsage().total;
    }
    let pending = 0;
    for (const m of this.pendingAccess.values()) pending += m.size;
    return {
      sessions_loaded: this.indexes.size,
      memories_indexed: memories,
      index_bytes: bytes,
      pending_access_updates: pending,
      consolidations: this.consolidations,
      consolidations_running: this.consolidating.size,
      simd: this.options.simd !== false && int8DotModule() !== null,
      embedding: this.embeddings.stats(),
    };
  }

  /** Memory use of one session's loaded index (undefined when not loaded). */
  indexMemoryUsage(sessionId: string): IndexMemoryUsage | undefined {
    return this.indexes.get(sessionId)?.memoryUsage();
  }

  /** Drops a session's in-memory index (it is reloaded from the database on next use). */
  forget(sessionId: string): void {
    this.indexes.delete(sessionId);
    this.changed.delete(sessionId);
    this.lastConsolidated.delete(sessionId);
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
      this.scheduleConsolidation(sessionId);
      throw new MemoryFullError(sessionId, index.size + inFlight, this.options.maxPerSession);
    }
    this.reserved.set(sessionId, inFlight + count);
  }

  private unreserve(sessionId: string, count: number): void {
    const left = (this.reserved.get(sessionId) ?? count) - count;
    if (left > 0) this.reserved.set(sessionId, left);
    else this.reserved.delete(sessionId);
  }

  private newIndex(capacity: number): VectorIndex {
    return new VectorIndex(this.embeddings.dimensions, { initialCapacity: capacity, simd: this.options.simd });
  }

  /**
   * The session's index, loaded on first use. Callers hold the session's MEMORY lock (read or
   * write), so no consolidation can run during a load, and every store awaits the load before
   * writing; concurrent first users share one load.
   */
  private indexFor(sessionId: string): VectorIndex | Promise<VectorIndex> {
    const index = this.indexes.get(sessionId);
    if (index) return index;
    let loading = this.loading.get(sessionId);
    if (!loading) {
      loading = this.load(sessionId).finally(() => this.loading.delete(sessionId));
      this.loading.set(sessionId, loading);
    }
    return loading;
  }

  private async load(sessionId: string): Promise<VectorIndex> {
    const started = performance.now();
    const count = this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM memories WHERE session_id = ?', [sessionId])?.n ?? 0;
    const index = this.newIndex(count);
    const model = this.embeddings.model;
    const dims = this.embeddings.dimensions;
    const stale: number[] = [];
    for (let after = 0; ; ) {
      const rows = this.db.all<MemoryRow>(
        `SELECT id, memory_type, event, importance, embedding, embedding_model, dims, access_count, merged_count, created_at, decayed_at
         FROM memories WHERE session_id = ? AND id > ? ORDER BY id LIMIT ${LOAD_PAGE}`,
        [sessionId, after],
      );
      for (const row of rows) {
        const vector = row.embedding_model === model && row.dims === dims ? decodeEmbedding(row.embedding, dims) : undefined;
        if (vector) index.add(recordOf(row), vector, row.event);
        else stale.push(row.id);
      }
      if (rows.length < LOAD_PAGE) break;
      after = rows[rows.length - 1].id;
      await yieldToLoop();
    }
    if (stale.length > 0) await this.reembed(sessionId, index, stale);
    if (this.sessions.exists(sessionId) && !this.closed) this.indexes.set(sessionId, index);
    if (index.size > 0) this.logger.log({ session_id: sessionId, memories: index.size, reembedded: stale.length, ms: round3(performance.now() - started) }, 'memory index loaded');
    return index;
  }

  /** Memories embedded by another provider (MEMORY_EMBEDDING_PROVIDER changed): embed their events again. */
  private async reembed(sessionId: string, index: VectorIndex, ids: number[]): Promise<void> {
    const model = this.embeddings.model;
    const dims = this.embeddings.dimensions;
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const chunk = ids.slice(i, i + ID_CHUNK);
      const rows = this.db.all<MemoryRow>(
        `SELECT id, memory_type, importance, event, access_count, merged_count, created_at, decayed_at FROM memories WHERE id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      const vectors = await this.embeddings.embedMany(rows.map((r) => embeddingInput(JSON.parse(r.event) as JsonValue)));
      await this.db.write(
        (tx) => rows.forEach((r, j) => tx.run('UPDATE memories SET embedding = ?, embedding_model = ?, dims = ? WHERE id = ?', [encodeEmbedding(vectors[j].vector), model, dims, r.id])),
        { label: 'memory.reembed' },
      );
      rows.forEach((r, j) => index.add(recordOf(r), vectors[j].vector, r.event));
    }
    this.logger.log({ session_id: sessionId, memories: ids.length, provider: model }, 'memories re-embedded for the configured provider');
  }
}

function recordOf(row: Pick<MemoryRow, 'id' | 'memory_type' | 'importance' | 'access_count' | 'merged_count' | 'created_at' | 'decayed_at'>) {
  return {
    id: row.id,
    importance: row.importance,
    createdAt: Number(row.created_at),
    decayedAt: Number(row.decayed_at),
    accessCount: row.access_count,
    mergedCount: row.merged_count,
    tag: Math.max(0, tagOf(row.memory_type as MemoryType)),
  };
}

function applyAccessDeltas(tx: WriteTx, sessionId: string, deltas: Map<number, AccessDelta>): void {
  for (const [id, d] of deltas) {
    tx.run(
      `UPDATE memories SET access_count = access_count + ?,
         last_accessed_at = CASE WHEN last_accessed_at IS NULL OR last_accessed_at < ? THEN ? ELSE last_accessed_at END
       WHERE id = ? AND session_id = ?`,
      [d.count, d.last, d.last, id, sessionId],
    );
  }
}

function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(', ');
}
