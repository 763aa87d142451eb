import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectTypes } from './dialect';

/**
 * `metrics`: the metrics module's rollups. One row per series (name + labels) per rollup period
 * (METRICS_ROLLUP_INTERVAL_MS): count, sum, min, max and nearest-rank p50/p95/p99 of the values
 * recorded in [period_start, period_end). `labels` is the sorted labels as JSON; `strategy_id`
 * repeats the label of that name so the PDCA module can query a strategy's history by index.
 * Rows older than METRICS_RETENTION_DAYS are deleted by the retention job (metric-rollup.retention.ts).
 */
export class CreateMetrics1764460800000 implements MigrationInterface {
  name = 'CreateMetrics1764460800000';

  async up(q: QueryRunner): Promise<void> {
    const t = dialectTypes(q);
    await q.query(`
      CREATE TABLE metrics (
        id            ${t.autoId},
        name          VARCHAR(128)  NOT NULL,
        labels        TEXT          NOT NULL,
        strategy_id   VARCHAR(128),
        period_start  BIGINT        NOT NULL,
        period_end    BIGINT        NOT NULL,
        sample_count  INTEGER       NOT NULL,
        value_sum     ${t.real}          NOT NULL,
        value_min     ${t.real}          NOT NULL,
        value_max     ${t.real}          NOT NULL,
        p50           ${t.real}          NOT NULL,
        p95           ${t.real}          NOT NULL,
        p99           ${t.real}          NOT NULL,
        created_at    BIGINT        NOT NULL,
        CONSTRAINT chk_metrics_count CHECK (sample_count > 0)
      )`);
    await q.query(`CREATE INDEX idx_metrics_name_period ON metrics (name, period_end)`);
    await q.query(`CREATE INDEX idx_metrics_strategy_period ON metrics (strategy_id, period_end)`);
    await q.query(`CREATE INDEX idx_metrics_period ON metrics (period_end)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE metrics`);
  }
}
