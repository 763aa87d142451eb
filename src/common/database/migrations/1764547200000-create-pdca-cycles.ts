import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectTypes } from './dialect';

/**
 * `pdca_cycles`: one row per PDCA cycle (docs/architecture.md §8.1) of any engine process on the database: its
 * trigger, the phase transitions it went through (JSON `[{phase, at}]`), the strategy planned,
 * the macros deployed, the outcome checked and the decision taken, and how it ended. `owner` +
 * `lease_token` name the `pdca_running` lease the cycle ran under: a `running` row whose lease is
 * no longer live belongs to a dead process and is marked `failed`.
 */
export class CreatePdcaCycles1764547200000 implements MigrationInterface {
  name = 'CreatePdcaCycles1764547200000';

  async up(q: QueryRunner): Promise<void> {
    const t = dialectTypes(q);
    await q.query(`
      CREATE TABLE pdca_cycles (
        id                 ${t.autoId},
        status             VARCHAR(16)  NOT NULL,
        trigger_type       VARCHAR(16)  NOT NULL,
        trigger_reason     VARCHAR(256) NOT NULL,
        current_phase      VARCHAR(8)   NOT NULL,
        phases             TEXT         NOT NULL,
        strategy_id        VARCHAR(64),
        planner            VARCHAR(64),
        strategy           TEXT,
        deployment         TEXT,
        outcome            TEXT,
        decision           VARCHAR(16),
        error              TEXT,
        owner              VARCHAR(128) NOT NULL,
        lease_token        BIGINT       NOT NULL,
        stop_requested_at  BIGINT,
        started_at         BIGINT       NOT NULL,
        finished_at        BIGINT,
        updated_at         BIGINT       NOT NULL,
        CONSTRAINT chk_pdca_cycles_status CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
        CONSTRAINT chk_pdca_cycles_phase CHECK (current_phase IN ('IDLE', 'PLAN', 'DO', 'CHECK', 'ACT')),
        CONSTRAINT chk_pdca_cycles_decision CHECK (decision IS NULL OR decision IN ('keep', 'adjust', 'rollback')),
        CONSTRAINT chk_pdca_cycles_finished CHECK ((status = 'running') = (finished_at IS NULL))
      )`);
    await q.query(`CREATE INDEX idx_pdca_cycles_status ON pdca_cycles (status)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE pdca_cycles`);
  }
}
