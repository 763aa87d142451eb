import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectTypes } from './dialect';

/**
 * The ML module's tables. `training_data`: one row per observed decision outcome, features as a
 * JSON array in the 28-feature contract order. `model_registry`: every model version ever
 * promoted (or attempted), with the file's path relative to MODEL_DIR and its sha256; the engine
 * loads the highest `promoted` version at boot.
 */
export class CreateMlTables1764374400000 implements MigrationInterface {
  name = 'CreateMlTables1764374400000';

  async up(q: QueryRunner): Promise<void> {
    const t = dialectTypes(q);
    await q.query(`
      CREATE TABLE training_data (
        id             ${t.autoId},
        session_id     VARCHAR(36),
        features       TEXT         NOT NULL,
        action         VARCHAR(32)  NOT NULL,
        reward         ${t.real}         NOT NULL DEFAULT 0,
        success        INTEGER      NOT NULL,
        source         VARCHAR(16)  NOT NULL,
        model_version  INTEGER,
        created_at     BIGINT       NOT NULL,
        CONSTRAINT chk_training_data_success CHECK (success IN (0, 1))
      )`);
    await q.query(`CREATE INDEX idx_training_data_created ON training_data (created_at)`);
    await q.query(`
      CREATE TABLE model_registry (
        version           INTEGER      PRIMARY KEY NOT NULL,
        path              TEXT         NOT NULL,
        sha256            VARCHAR(64)  NOT NULL,
        size_bytes        BIGINT       NOT NULL,
        origin            VARCHAR(16)  NOT NULL,
        status            VARCHAR(16)  NOT NULL,
        metrics           TEXT,
        previous_version  INTEGER,
        created_at        BIGINT       NOT NULL,
        promoted_at       BIGINT,
        CONSTRAINT chk_model_registry_status CHECK (status IN ('pending', 'promoted', 'failed'))
      )`);
    await q.query(`CREATE INDEX idx_model_registry_status ON model_registry (status, version)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE model_registry`);
    await q.query(`DROP TABLE training_data`);
  }
}
