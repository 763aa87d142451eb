import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../../../common/database/column-transformers';

/** One cross-process flag (a lease) or version counter. Written only through FlagService (SQL CAS). */
@Entity('process_flags')
export class ProcessFlagEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 8 })
  kind: 'flag' | 'counter';

  @Column({ type: 'varchar', length: 128, nullable: true })
  owner: string | null;

  @Column({ type: 'bigint', transformer: epochMs })
  token: number;

  @Column({ type: 'bigint', transformer: epochMs })
  value: number;

  @Column({ name: 'acquired_at', type: 'bigint', nullable: true, transformer: epochMs })
  acquiredAt: number | null;

  @Column({ name: 'expires_at', type: 'bigint', nullable: true, transformer: epochMs })
  expiresAt: number | null;

  @Column({ name: 'heartbeat_at', type: 'bigint', nullable: true, transformer: epochMs })
  heartbeatAt: number | null;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt: number;
}
