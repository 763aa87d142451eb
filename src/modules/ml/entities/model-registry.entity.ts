import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs, jsonText } from '../../../common/database/column-transformers';

export type ModelRegistryStatus = 'pending' | 'promoted' | 'failed';
export type ModelOrigin = 'default' | 'stage' | 'train';

/**
 * Every model version: written `pending` before the swap (which allocates the version), then
 * `promoted` once it serves, or `failed` if the swap did not happen.
 */
@Entity('model_registry')
export class ModelRegistryEntity {
  @PrimaryColumn({ type: 'integer' })
  version: number;

  /** Relative to MODEL_DIR. */
  @Column({ type: 'text' })
  path: string;

  @Column({ type: 'varchar', length: 64 })
  sha256: string;

  @Column({ name: 'size_bytes', type: 'bigint', transformer: epochMs })
  sizeBytes: number;

  @Column({ type: 'varchar', length: 16 })
  origin: ModelOrigin;

  @Column({ type: 'varchar', length: 16 })
  status: ModelRegistryStatus;

  @Column({ type: 'text', nullable: true, transformer: jsonText })
  metrics: Record<string, unknown> | null;

  @Column({ name: 'previous_version', type: 'integer', nullable: true })
  previousVersion: number | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;

  @Column({ name: 'promoted_at', type: 'bigint', nullable: true, transformer: epochMs })
  promotedAt: number | null;
}
