import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs, jsonText } from '../../../common/database/column-transformers';

/** One rollup of one series over one period (written by the metrics flush loop, raw SQL). */
@Entity('metrics')
export class MetricRollupEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  /** The series' labels, sorted, as JSON. */
  @Column({ type: 'text', transformer: jsonText })
  labels: Record<string, string>;

  @Column({ name: 'strategy_id', type: 'varchar', length: 128, nullable: true })
  strategyId: string | null;

  @Column({ name: 'period_start', type: 'bigint', transformer: epochMs })
  periodStart: number;

  @Column({ name: 'period_end', type: 'bigint', transformer: epochMs })
  periodEnd: number;

  @Column({ name: 'sample_count', type: 'integer' })
  sampleCount: number;

  @Column({ name: 'value_sum', type: 'real' })
  valueSum: number;

  @Column({ name: 'value_min', type: 'real' })
  valueMin: number;

  @Column({ name: 'value_max', type: 'real' })
  valueMax: number;

  @Column({ type: 'real' })
  p50: number;

  @Column({ type: 'real' })
  p95: number;

  @Column({ type: 'real' })
  p99: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;
}
