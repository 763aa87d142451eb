import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cross-process flags (docs/architecture.md §4.2) and version counters, one row each. A flag row is held while
 * `owner` is set and `expires_at` is in the future; `token` counts acquisitions (a fencing token:
 * every new holder gets a larger one, so a stale holder's release or heartbeat matches nothing).
 * A counter row only uses `value`.
 */
export class CreateProcessFlags1764288000001 implements MigrationInterface {
  name = 'CreateProcessFlags1764288000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE process_flags (
        name          VARCHAR(64)  PRIMARY KEY NOT NULL,
        kind          VARCHAR(8)   NOT NULL,
        owner         VARCHAR(128),
        token         BIGINT       NOT NULL DEFAULT 0,
        value         BIGINT       NOT NULL DEFAULT 0,
        acquired_at   BIGINT,
        expires_at    BIGINT,
        heartbeat_at  BIGINT,
        updated_at    BIGINT       NOT NULL,
        CONSTRAINT chk_process_flags_kind CHECK (kind IN ('flag', 'counter')),
        CONSTRAINT chk_process_flags_lease CHECK (owner IS NULL OR expires_at IS NOT NULL)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE process_flags`);
  }
}
