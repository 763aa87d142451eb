import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectTypes } from './dialect';

/**
 * player_reputation (docs/architecture.md "Data: reputation") and interaction_history, plus a per-session counter of
 * social interactions on player_sessions (the session statistics step of the interaction unit).
 * Portable SQL: epoch-ms BIGINT, BOOLEAN with TRUE/FALSE, TEXT; only the history id differs by
 * dialect (SQLite's AUTOINCREMENT rowid vs a PostgreSQL identity column), so ids only grow and
 * can serve as a pagination cursor.
 */
export class CreateReputation1764288000000 implements MigrationInterface {
  name = 'CreateReputation1764288000000';

  async up(q: QueryRunner): Promise<void> {
    const historyId = dialectTypes(q).autoId;
    await q.query(`
      CREATE TABLE player_reputation (
        player_id              BIGINT       PRIMARY KEY NOT NULL,
        player_name            VARCHAR(64)  NOT NULL,
        reputation_score       INTEGER      NOT NULL DEFAULT 0,
        reputation_tier        VARCHAR(16)  NOT NULL DEFAULT 'Neutral',
        total_interactions     BIGINT       NOT NULL DEFAULT 0,
        positive_interactions  BIGINT       NOT NULL DEFAULT 0,
        negative_interactions  BIGINT       NOT NULL DEFAULT 0,
        first_seen             BIGINT       NOT NULL,
        last_seen              BIGINT       NOT NULL,
        is_friend              BOOLEAN      NOT NULL DEFAULT FALSE,
        is_guild_member        BOOLEAN      NOT NULL DEFAULT FALSE,
        is_whitelisted         BOOLEAN      NOT NULL DEFAULT FALSE,
        is_blacklisted         BOOLEAN      NOT NULL DEFAULT FALSE,
        notes                  TEXT,
        created_at             BIGINT       NOT NULL,
        updated_at             BIGINT       NOT NULL,
        CONSTRAINT chk_player_reputation_score CHECK (reputation_score BETWEEN -100 AND 100),
        CONSTRAINT chk_player_reputation_totals CHECK (
          positive_interactions >= 0 AND negative_interactions >= 0
          AND positive_interactions + negative_interactions <= total_interactions)
      )`);
    await q.query(`CREATE INDEX idx_player_reputation_name ON player_reputation (player_name)`);
    await q.query(`
      CREATE TABLE interaction_history (
        id                ${historyId},
        player_id         BIGINT       NOT NULL REFERENCES player_reputation (player_id) ON DELETE CASCADE,
        player_name       VARCHAR(64)  NOT NULL,
        interaction_type  VARCHAR(32)  NOT NULL,
        outcome           VARCHAR(200) NOT NULL,
        reputation_delta  INTEGER      NOT NULL,
        applied_delta     INTEGER      NOT NULL,
        score_before      INTEGER      NOT NULL,
        score_after       INTEGER      NOT NULL,
        tier_after        VARCHAR(16)  NOT NULL,
        source            VARCHAR(16)  NOT NULL,
        character_name    VARCHAR(64),
        session_id        VARCHAR(36),
        request_id        VARCHAR(64),
        created_at        BIGINT       NOT NULL
      )`);
    await q.query(`CREATE INDEX idx_interaction_history_player ON interaction_history (player_id, id)`);
    // Idempotency key: a retried request (same request_id) is applied once, across processes.
    await q.query(`CREATE UNIQUE INDEX uq_interaction_history_request ON interaction_history (request_id)`);
    await q.query(`ALTER TABLE player_sessions ADD COLUMN social_interactions BIGINT NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE player_sessions DROP COLUMN social_interactions`);
    await q.query(`DROP TABLE interaction_history`);
    await q.query(`DROP TABLE player_reputation`);
  }
}
