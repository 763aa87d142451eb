import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePlayerSessions1764201600000 implements MigrationInterface {
  name = 'CreatePlayerSessions1764201600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE player_sessions (
        session_id      VARCHAR(36)  PRIMARY KEY NOT NULL,
        client          VARCHAR(64)  NOT NULL,
        client_version  VARCHAR(64)  NOT NULL,
        pid             INTEGER,
        capabilities    TEXT         NOT NULL DEFAULT '[]',
        character_name  VARCHAR(64),
        status          VARCHAR(16)  NOT NULL DEFAULT 'active',
        request_count   BIGINT       NOT NULL DEFAULT 0,
        created_at      BIGINT       NOT NULL,
        last_seen_at    BIGINT       NOT NULL,
        expired_at      BIGINT
      )`);
    await q.query(`CREATE INDEX idx_player_sessions_status ON player_sessions (status)`);
    await q.query(`CREATE INDEX idx_player_sessions_character ON player_sessions (character_name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE player_sessions`);
  }
}
