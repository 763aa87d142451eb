import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * decision_log is written by every tick and read by nobody in the engine (it is for offline
 * analysis). Its (session_id, id) index made every batched insert touch one index page per
 * active session: with 100 bots, a 500-row flush took 3.2 ms instead of 1.4 ms and wrote 8×
 * the WAL (85 MB instead of 10.5 MB per 50k rows), which the checkpoints then copied again.
 * Analyses by session can scan, or index a copy.
 */
export class DropDecisionLogSessionIndex1764633600000 implements MigrationInterface {
  name = 'DropDecisionLogSessionIndex1764633600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_decision_log_session`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX idx_decision_log_session ON decision_log (session_id, id)`);
  }
}
