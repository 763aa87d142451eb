import type { Logger } from '@nestjs/common';
import { yieldToLoop } from '../../common/async/wait';
import { DatabaseService } from '../../common/database/database.service';
import { embeddingInput } from './embedding/canonical-json';
import { decodeEmbedding, encodeEmbedding } from './embedding/embedding-codec';
import { EmbeddingGenerator } from './embedding/embedding-generator';
import type { JsonValue } from './embedding/embedding-provider';
import { type IndexMemoryUsage, VectorIndex } from './index/vector-index';
import { DEFAULT_MEMORY_TYPE, MEMORY_TYPES, type MemoryType } from './memory.constants';

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

const LOAD_PAGE = 2_000;
/** Ids per statement (SQLite's parameter limit is far above; keeps statements small). */
export const ID_CHUNK = 500;

export const tagOf = (type: MemoryType): number => MEMORY_TYPES.indexOf(type);
export const typeOf = (tag: number): MemoryType => MEMORY_TYPES[tag] ?? DEFAULT_MEMORY_TYPE;
export const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * The read model of long-term memory: one in-memory index per session (vectors, metadata and
 * the events' JSON), loaded from `memories` on first use, re-embedding rows written by another
 * provider. Holds no lock itself: callers hold the session's MEMORY lock (read or write) around
 * `indexFor`, so no consolidation runs during a load, and concurrent first users share one load.
 */
export class MemoryIndexCache {
  private readonly indexes = new Map<string, VectorIndex>();
  private readonly loading = new Map<string, Promise<VectorIndex>>();
  private closed = false;

  constructor(
    private readonly db: DatabaseService,
    private readonly embeddings: EmbeddingGenerator,
    private readonly sessions: { exists(sessionId: string): boolean },
    private readonly options: { simd?: boolean },
    private readonly logger: Logger,
  ) {}

  /** The loaded index of a session (no load). */
  get(sessionId: string): VectorIndex | undefined {
    return this.indexes.get(sessionId);
  }

  /** Publishes a session's index (the consolidation's swap, under the session's WRITE lock). */
  set(sessionId: string, index: VectorIndex): void {
    this.indexes.set(sessionId, index);
  }

  /** Drops a session's index (reloaded from the database on next use). */
  delete(sessionId: string): void {
    this.indexes.delete(sessionId);
  }

  /** Sessions with a loaded index. */
  sessionIds(): string[] {
    return [...this.indexes.keys()];
  }

  /** No index is kept after this (a load finishing during shutdown is not published). */
  close(): void {
    this.closed = true;
  }

  stats(): { sessions_loaded: number; memories_indexed: number; index_bytes: number } {
    let memories = 0;
    let bytes = 0;
    for (const index of this.indexes.values()) {
      memories += index.size;
      bytes += index.memoryUsage().total;
    }
    return { sessions_loaded: this.indexes.size, memories_indexed: memories, index_bytes: bytes };
  }

  memoryUsage(sessionId: string): IndexMemoryUsage | undefined {
    return this.indexes.get(sessionId)?.memoryUsage();
  }

  newIndex(capacity: number): VectorIndex {
    return new VectorIndex(this.embeddings.dimensions, { initialCapacity: capacity, simd: this.options.simd });
  }

  /**
   * The session's index, loaded on first use. Callers hold the session's MEMORY lock (read or
   * write), so no consolidation can run during a load, and every store awaits the load before
   * writing; concurrent first users share one load.
   */
  indexFor(sessionId: string): VectorIndex | Promise<VectorIndex> {
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
    const count = Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM memories WHERE session_id = ?', [sessionId]))?.n ?? 0);
    const index = this.newIndex(count);
    const model = this.embeddings.model;
    const dims = this.embeddings.dimensions;
    const stale: number[] = [];
    for (let after = 0; ; ) {
      const rows = await this.db.all<MemoryRow>(
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
      const rows = await this.db.all<MemoryRow>(
        `SELECT id, memory_type, importance, event, access_count, merged_count, created_at, decayed_at FROM memories WHERE id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      const vectors = await this.embeddings.embedMany(rows.map((r) => embeddingInput(JSON.parse(r.event) as JsonValue)));
      await this.db.write(
        async (tx) => {
          for (const [j, r] of rows.entries()) {
            await tx.run('UPDATE memories SET embedding = ?, embedding_model = ?, dims = ? WHERE id = ?', [encodeEmbedding(vectors[j].vector), model, dims, r.id]);
          }
        },
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

export function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(', ');
}
