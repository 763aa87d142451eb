import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../../../common/database/column-transformers';
import type { MemoryType } from '../memory.constants';

/** One long-term memory of a session (its embedding column is not mapped: see below). */
@Entity('memories')
@Index('idx_memories_session', ['sessionId', 'id'])
export class MemoryEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId: string;

  @Column({ name: 'memory_type', type: 'varchar', length: 16 })
  memoryType: MemoryType;

  /** The event as stored (JSON text). */
  @Column({ type: 'text' })
  event: string;

  @Column({ type: 'real' })
  importance: number;

  // `embedding` (float32 little-endian, dims × 4 bytes) is a BLOB on SQLite and a BYTEA on
  // PostgreSQL (the migration says which); it is read and written as a Buffer by the memory
  // module's own SQL only, so it is not mapped here: no column type is valid on both drivers.

  /** The provider (vector space) that made the embedding, e.g. "hashing-v1". */
  @Column({ name: 'embedding_model', type: 'varchar', length: 64 })
  embeddingModel: string;

  @Column({ type: 'integer' })
  dims: number;

  @Column({ name: 'access_count', type: 'integer', default: 0 })
  accessCount: number;

  @Column({ name: 'last_accessed_at', type: 'bigint', nullable: true, transformer: epochMs })
  lastAccessedAt: number | null;

  @Column({ name: 'merged_count', type: 'integer', default: 1 })
  mergedCount: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt: number;

  /** Epoch ms up to which the importance has been decayed. */
  @Column({ name: 'decayed_at', type: 'bigint', transformer: epochMs })
  decayedAt: number;
}
