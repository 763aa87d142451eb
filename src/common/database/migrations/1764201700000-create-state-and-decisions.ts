import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectTypes } from './dialect';

export class CreateStateAndDecisions1764201700000 implements MigrationInterface {
  name = 'CreateStateAndDecisions1764201700000';

  async up(q: QueryRunner): Promise<void> {
    const t = dialectTypes(q);
    // The latest snapshot per session (throttled writes), so a restart resumes where it was.
    await q.query(`
      CREATE TABLE game_state_snapshots (
        session_id  VARCHAR(36) PRIMARY KEY NOT NULL,
        version     BIGINT      NOT NULL,
        state_json  TEXT        NOT NULL,
        updated_at  BIGINT      NOT NULL
      )`);
    await q.query(`
      CREATE TABLE decision_log (
        id                 ${t.autoId},
        session_id         VARCHAR(36)  NOT NULL,
        decision_tier      VARCHAR(16)  NOT NULL,
        action_type        VARCHAR(32)  NOT NULL,
        reason             TEXT,
        state_version      BIGINT,
        processing_time_ms ${t.real}         NOT NULL,
        success            INTEGER,
        outcome            TEXT,
        created_at         BIGINT       NOT NULL
      )`);
    await q.query(`CREATE INDEX idx_decision_log_session ON decision_log (session_id, id)`);
    await q.query(`CREATE INDEX idx_decision_log_tier ON decision_log (decision_tier)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE decision_log`);
    await q.query(`DROP TABLE game_state_snapshots`);
  }
}
