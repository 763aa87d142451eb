import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectTypes } from './dialect';

/**
 * The memory module's table: one row per long-term memory of a session, its event as JSON text
 * and its embedding as a float32 little-endian BLOB, tagged with the provider that made it (a
 * session's memories of another provider are re-embedded when its index loads).
 */
export class CreateMemories1764461100000 implements MigrationInterface {
  name = 'CreateMemories1764461100000';

  async up(q: QueryRunner): Promise<void> {
    const t = dialectTypes(q);
    await q.query(`
      CREATE TABLE memories (
        id                ${t.autoId},
        session_id        VARCHAR(36)  NOT NULL,
        memory_type       VARCHAR(16)  NOT NULL,
        event             TEXT         NOT NULL,
        importance        ${t.real}         NOT NULL,
        embedding         ${t.blob}         NOT NULL,
        embedding_model   VARCHAR(64)  NOT NULL,
        dims              INTEGER      NOT NULL,
        access_count      INTEGER      NOT NULL DEFAULT 0,
        last_accessed_at  BIGINT,
        merged_count      INTEGER      NOT NULL DEFAULT 1,
        created_at        BIGINT       NOT NULL,
        updated_at        BIGINT       NOT NULL,
        decayed_at        BIGINT       NOT NULL,
        CONSTRAINT chk_memories_importance CHECK (importance >= 0 AND importance <= 1),
        CONSTRAINT chk_memories_type CHECK (memory_type IN ('episodic', 'semantic', 'procedural', 'emotional', 'reflective'))
      )`);
    await q.query(`CREATE INDEX idx_memories_session ON memories (session_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE memories`);
  }
}
