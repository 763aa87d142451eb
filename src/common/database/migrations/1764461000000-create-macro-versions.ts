import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectTypes } from './dialect';

/**
 * `macro_versions`: every accepted version of a macro or automacro (content, sha256, source file
 * relative to MACRO_DIR, load time); the macro module keeps the last MACRO_VERSIONS_KEEP per block.
 */
export class CreateMacroVersions1764461000000 implements MigrationInterface {
  name = 'CreateMacroVersions1764461000000';

  async up(q: QueryRunner): Promise<void> {
    const t = dialectTypes(q);
    await q.query(`
      CREATE TABLE macro_versions (
        id            ${t.autoId},
        macro_name    VARCHAR(64)  NOT NULL,
        kind          VARCHAR(16)  NOT NULL,
        version       INTEGER      NOT NULL,
        content_hash  VARCHAR(64)  NOT NULL,
        content       TEXT         NOT NULL,
        source_file   TEXT         NOT NULL,
        created_at    BIGINT       NOT NULL,
        CONSTRAINT chk_macro_versions_kind CHECK (kind IN ('macro', 'automacro'))
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_macro_versions_kind_name_version ON macro_versions (kind, macro_name, version)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE macro_versions`);
  }
}
