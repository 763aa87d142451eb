import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../../../common/database/column-transformers';

/**
 * One accepted version of a macro or automacro: the block's content and its sha256, the file
 * it came from (relative to MACRO_DIR) and when it was loaded. The last N per block are kept.
 */
@Entity('macro_versions')
@Index('uq_macro_versions_kind_name_version', ['kind', 'macroName', 'version'], { unique: true })
export class MacroVersionEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'macro_name', type: 'varchar', length: 64 })
  macroName: string;

  @Column({ type: 'varchar', length: 16 })
  kind: 'macro' | 'automacro';

  @Column({ type: 'integer' })
  version: number;

  @Column({ name: 'content_hash', type: 'varchar', length: 64 })
  contentHash: string;

  @Column({ type: 'text' })
  content: string;

  @Column({ name: 'source_file', type: 'text' })
  sourceFile: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;
}
