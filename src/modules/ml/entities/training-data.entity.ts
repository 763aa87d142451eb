import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs, jsonText } from '../../../common/database/column-transformers';

export type TrainingSampleSource = 'api' | 'feedback';

/** One observed outcome: the state's 28 features, the action taken, how it went. */
@Entity('training_data')
export class TrainingDataEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'session_id', type: 'varchar', length: 36, nullable: true })
  sessionId: string | null;

  /** JSON array of 28 numbers in the contract's feature order. */
  @Column({ type: 'text', transformer: jsonText })
  features: number[];

  @Column({ type: 'varchar', length: 32 })
  action: string;

  @Column({ type: 'real', default: 0 })
  reward: number;

  @Column({ type: 'integer', transformer: { to: (v: boolean) => (v ? 1 : 0), from: (v: number) => v === 1 } })
  success: boolean;

  @Column({ type: 'varchar', length: 16 })
  source: TrainingSampleSource;

  @Column({ name: 'model_version', type: 'integer', nullable: true })
  modelVersion: number | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;
}
