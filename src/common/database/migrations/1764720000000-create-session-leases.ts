import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bot ownership across engine instances (docs/cluster.md). `session_leases`: one row per
 * session ever served, held by `instance_id` until `expires_at`; `token` is a fencing token that
 * only grows (a row is released, never deleted, so a session's token never starts over), and
 * every write of a session's state names the token it was made under. `engine_instances`: one
 * row per running instance, renewed with its leases, so the live instances are known even when
 * they hold no session.
 */
export class CreateSessionLeases1764720000000 implements MigrationInterface {
  name = 'CreateSessionLeases1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE engine_instances (
        instance_id     VARCHAR(64)  PRIMARY KEY NOT NULL,
        advertised_url  VARCHAR(512) NOT NULL,
        started_at      BIGINT       NOT NULL,
        heartbeat_at    BIGINT       NOT NULL,
        expires_at      BIGINT       NOT NULL
      )`);
    await q.query(`
      CREATE TABLE session_leases (
        session_id      VARCHAR(128) PRIMARY KEY NOT NULL,
        instance_id     VARCHAR(64),
        advertised_url  VARCHAR(512),
        token           BIGINT       NOT NULL,
        acquired_at     BIGINT       NOT NULL,
        expires_at      BIGINT       NOT NULL,
        renewed_at      BIGINT       NOT NULL,
        CONSTRAINT chk_session_leases_token CHECK (token > 0)
      )`);
    await q.query(`CREATE INDEX idx_session_leases_instance ON session_leases (instance_id, expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE session_leases`);
    await q.query(`DROP TABLE engine_instances`);
  }
}
