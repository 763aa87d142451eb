import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../../../common/database/column-transformers';

/**
 * One PDCA cycle (see the migration). Written only by PdcaCycleStore with SQL (conditional
 * updates on `status = 'running'`, so a row a reaper already marked failed is never revived).
 */
@Entity('pdca_cycles')
@Index('idx_pdca_cycles_status', ['status'])
export class PdcaCycleEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ type: 'varchar', length: 16 })
  status: 'running' | 'completed' | 'failed' | 'stopped';

  @Column({ name: 'trigger_type', type: 'varchar', length: 16 })
  triggerType: string;

  @Column({ name: 'trigger_reason', type: 'varchar', length: 256 })
  triggerReason: string;

  @Column({ name: 'current_phase', type: 'varchar', length: 8 })
  currentPhase: string;

  /** JSON `[{phase, at}]`. */
  @Column({ type: 'text' })
  phases: string;

  @Column({ name: 'strategy_id', type: 'varchar', length: 64, nullable: true })
  strategyId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  planner: string | null;

  /** JSON Strategy. */
  @Column({ type: 'text', nullable: true })
  strategy: string | null;

  /** JSON: the macro file deployed, its versions, whether it was rolled back. */
  @Column({ type: 'text', nullable: true })
  deployment: string | null;

  /** JSON: CHECK's evaluation and ACT's detail. */
  @Column({ type: 'text', nullable: true })
  outcome: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  decision: 'keep' | 'adjust' | 'rollback' | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'varchar', length: 128 })
  owner: string;

  @Column({ name: 'lease_token', type: 'bigint', transformer: epochMs })
  leaseToken: number;

  @Column({ name: 'stop_requested_at', type: 'bigint', nullable: true, transformer: epochMs })
  stopRequestedAt: number | null;

  @Column({ name: 'started_at', type: 'bigint', transformer: epochMs })
  startedAt: number;

  @Column({ name: 'finished_at', type: 'bigint', nullable: true, transformer: epochMs })
  finishedAt: number | null;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt: number;
}
