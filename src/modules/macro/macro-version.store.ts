import type { DatabaseService } from '../../common/database/database.service';

export type BlockKind = 'macro' | 'automacro';

export interface VersionRecord {
  kind: BlockKind;
  name: string;
  hash: string;
  content: string;
  file: string;
}

export interface LatestVersion {
  version: number;
  hash: string;
}

export interface MacroVersionRow {
  version: number;
  content_hash: string;
  source_file: string;
  created_at: string;
}

/** Where accepted versions are kept (`macro_versions`). Version numbers are allocated here. */
export interface MacroVersionStore {
  /**
   * Allocates the version of each record in one transaction: the latest version again when its
   * content hash is unchanged (nothing written), else latest + 1 (a row is added and rows beyond
   * the last `keep` of that block are pruned). Returns `kind:name` → version.
   */
  record(records: readonly VersionRecord[], keep: number, now: number): Promise<Map<string, number>>;
  history(kind: BlockKind, name: string, limit: number): Promise<MacroVersionRow[]>;
}

export function versionKey(kind: BlockKind, name: string): string {
  return `${kind}:${name}`;
}

/** The SQLite (or PostgreSQL later) store, through DatabaseService.write — the one write path. */
export class SqlMacroVersionStore implements MacroVersionStore {
  constructor(private readonly db: DatabaseService) {}

  record(records: readonly VersionRecord[], keep: number, now: number): Promise<Map<string, number>> {
    return this.db.write(
      async (tx) => {
        const out = new Map<string, number>();
        for (const r of records) {
          const latest = await tx.get<{ version: number; content_hash: string }>(
            'SELECT version, content_hash FROM macro_versions WHERE kind = ? AND macro_name = ? ORDER BY version DESC LIMIT 1',
            [r.kind, r.name],
          );
          if (latest && latest.content_hash === r.hash) {
            out.set(versionKey(r.kind, r.name), Number(latest.version));
            continue;
          }
          const version = (latest ? Number(latest.version) : 0) + 1;
          await tx.run(
            'INSERT INTO macro_versions (macro_name, kind, version, content_hash, content, source_file, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [r.name, r.kind, version, r.hash, r.content, r.file, now],
          );
          await tx.run('DELETE FROM macro_versions WHERE kind = ? AND macro_name = ? AND version <= ?', [r.kind, r.name, version - keep]);
          out.set(versionKey(r.kind, r.name), version);
        }
        return out;
      },
      // The next version is the latest read + 1: two instances recording the same macro at once
      // would both pick it on PostgreSQL's read committed; serializable lets one commit, the
      // other runs again and reads it (SQLite's writes are serial anyway).
      { label: 'macro.versions', isolation: 'serializable' },
    );
  }

  async history(kind: BlockKind, name: string, limit: number): Promise<MacroVersionRow[]> {
    return (
      await this.db.all<{ version: number; content_hash: string; source_file: string; created_at: number }>(
        'SELECT version, content_hash, source_file, created_at FROM macro_versions WHERE kind = ? AND macro_name = ? ORDER BY version DESC LIMIT ?',
        [kind, name, limit],
      )
    ).map((r) => ({ version: Number(r.version), content_hash: r.content_hash, source_file: r.source_file, created_at: new Date(Number(r.created_at)).toISOString() }));
  }
}

/** In-memory store with the same allocation rule, for unit tests. */
export class MemoryMacroVersionStore implements MacroVersionStore {
  readonly rows = new Map<string, Array<{ version: number; hash: string; file: string; at: number }>>();
  /** Set to make the next record() fail (tests of the rollback path). */
  failNext: Error | undefined;

  record(records: readonly VersionRecord[], keep: number, now: number): Promise<Map<string, number>> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      return Promise.reject(err);
    }
    const out = new Map<string, number>();
    for (const r of records) {
      const key = versionKey(r.kind, r.name);
      const list = this.rows.get(key) ?? [];
      const latest = list[list.length - 1];
      if (latest && latest.hash === r.hash) {
        out.set(key, latest.version);
        continue;
      }
      const version = (latest?.version ?? 0) + 1;
      list.push({ version, hash: r.hash, file: r.file, at: now });
      this.rows.set(key, list.filter((x) => x.version > version - keep));
      out.set(key, version);
    }
    return Promise.resolve(out);
  }

  history(kind: BlockKind, name: string, limit: number): Promise<MacroVersionRow[]> {
    return Promise.resolve(
      [...(this.rows.get(versionKey(kind, name)) ?? [])]
        .reverse()
        .slice(0, limit)
        .map((r) => ({ version: r.version, content_hash: r.hash, source_file: r.file, created_at: new Date(r.at).toISOString() })),
    );
  }
}
