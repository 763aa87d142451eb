import { Injectable } from '@nestjs/common';
import { DatabaseService, lockingRead, type WriteTx } from '../../common/database/database.service';
import { PlayerSessionEntity, type SessionStatus } from './entities/player-session.entity';

/** A session's lease row as read. */
export interface LeaseRow {
  session_id: string;
  instance_id: string | null;
  advertised_url: string | null;
  token: number;
  expires_at: number;
}

/** What a take (compare-and-set) found and did. */
export type TakeResult =
  | { readonly taken: true; readonly token: number; readonly expiresAt: number; readonly previous: LeaseRow | undefined }
  | { readonly taken: false; readonly owner: LeaseRow };

export interface InstanceRow {
  instance_id: string;
  advertised_url: string;
  started_at: number;
  heartbeat_at: number;
  expires_at: number;
  leases: number;
}

/**
 * One row of a session to upsert: `${into} VALUES (…) ${onConflict}` unfenced, or with the fence
 * as its condition (`SessionLeaseRepository.upsertFenced`).
 */
export interface SessionRowUpsert {
  /** `INSERT INTO table (col, …)` */
  readonly into: string;
  /** One per column. */
  readonly values: readonly unknown[];
  /** `ON CONFLICT (key) DO UPDATE SET …`, with its own `WHERE` if any. */
  readonly onConflict: string;
}

/** A session this instance plays, as the player_sessions row of a character (see SessionService). */
export interface CharacterSessionRow {
  session_id: string;
}

/**
 * Take: insert the lease held by us, or take the row over when it is ours, released, or
 * expired. The token grows unless the row is still ours under the token we know — live (a
 * renewal) or lapsed with nobody taking it since (nobody else wrote: the same epoch goes on).
 * Portable (SQLite ≥ 3.24, PostgreSQL): one conditional upsert, as the flags do.
 */
const TAKE_SQL = `
  INSERT INTO session_leases (session_id, instance_id, advertised_url, token, acquired_at, expires_at, renewed_at)
  VALUES (?, ?, ?, 1, ?, ?, ?)
  ON CONFLICT (session_id) DO UPDATE SET
    token = CASE WHEN session_leases.instance_id = excluded.instance_id AND session_leases.token = ?
                 THEN session_leases.token ELSE session_leases.token + 1 END,
    instance_id = excluded.instance_id,
    advertised_url = excluded.advertised_url,
    acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at,
    renewed_at = excluded.renewed_at
  WHERE session_leases.instance_id IS NULL
     OR session_leases.instance_id = excluded.instance_id
     OR session_leases.expires_at <= excluded.acquired_at`;

/**
 * Renewal: only our live lease under this very token (a lost one stays lost). It also writes the
 * instance's current address: a lease taken before the engine knew it (between listen and
 * `SessionOwnership.start`) carries the configured one until then.
 */
const RENEW_SQL = `
  UPDATE session_leases SET expires_at = ?, renewed_at = ?, advertised_url = ?
  WHERE session_id = ? AND instance_id = ? AND token = ? AND expires_at > ?`;

/** Release keeps the row (and its token): the next holder's token is larger still. */
const RELEASE_SQL = `
  UPDATE session_leases SET instance_id = NULL, advertised_url = NULL, expires_at = 0, renewed_at = ?
  WHERE session_id = ? AND instance_id = ? AND token = ?`;

/**
 * The fence of a session row's write (see `upsertFenced`): the lease is ours under the token…
 * On PostgreSQL the lease row is read `FOR SHARE` (`lockingRead`): a plain read at read committed
 * would check the fence against the snapshot the statement began with, so a take committed while
 * the upsert waited on the row it writes (the new owner's, say) would not be seen, and a stale
 * owner would overwrite the new owner's row. Locked, the fence waits for a take under way and is
 * checked again on the row as it committed; a take waits for the write fenced by it, so the new
 * owner reads that write when it loads the session.
 */
const fenceOursSql = (tx: WriteTx) => `EXISTS (SELECT 1 FROM session_leases WHERE session_id = ? AND instance_id = ? AND token = ?${lockingRead(tx, 'share')})`;
/**
 * …or, holding no token, nobody ever leased the session. A lease inserted meanwhile is not seen
 * by this read on PostgreSQL (there is no row to lock): the session's first take comes from the
 * HTTP turn, and a path without a token writes only sessions no request has ever leased.
 */
const FENCE_UNLEASED_SQL = 'NOT EXISTS (SELECT 1 FROM session_leases WHERE session_id = ?)';

const LEASE_SQL = 'SELECT session_id, instance_id, advertised_url, token, expires_at FROM session_leases WHERE session_id = ?';

const INSTANCE_UPSERT_SQL = `
  INSERT INTO engine_instances (instance_id, advertised_url, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (instance_id) DO UPDATE SET advertised_url = excluded.advertised_url, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`;

/**
 * Every statement of session ownership (docs/cluster.md), in one place: the lease table and the
 * instance table. Writes go through the caller's or the service's write transaction.
 */
@Injectable()
export class SessionLeaseRepository {
  constructor(private readonly db: DatabaseService) {}

  /** Compare-and-set: the lease is ours afterwards (`taken`), or another live instance holds it. */
  async take(tx: WriteTx, sessionId: string, instanceId: string, advertisedUrl: string, knownToken: number, now: number, ttlMs: number): Promise<TakeResult> {
    const previous = await readLease(tx, sessionId);
    const { changes } = await tx.run(TAKE_SQL, [sessionId, instanceId, advertisedUrl, now, now + ttlMs, now, knownToken]);
    const row = (await readLease(tx, sessionId))!;
    if (changes === 0) return { taken: false, owner: row };
    return { taken: true, token: Number(row.token), expiresAt: Number(row.expires_at), previous };
  }

  /** Extends each lease by the TTL; returns the ones that were no longer ours (lost). */
  async renew(
    tx: WriteTx,
    instanceId: string,
    advertisedUrl: string,
    leases: ReadonlyArray<{ sessionId: string; token: number }>,
    now: number,
    ttlMs: number,
  ): Promise<string[]> {
    const lost: string[] = [];
    for (const { sessionId, token } of leases) {
      if ((await tx.run(RENEW_SQL, [now + ttlMs, now, advertisedUrl, sessionId, instanceId, token, now])).changes === 0) lost.push(sessionId);
    }
    return lost;
  }

  async release(tx: WriteTx, instanceId: string, leases: ReadonlyArray<{ sessionId: string; token: number }>, now: number): Promise<void> {
    for (const { sessionId, token } of leases) await tx.run(RELEASE_SQL, [now, sessionId, instanceId, token]);
  }

  /**
   * A session's row written only while the fence holds, in one statement: the fence is the
   * upsert's own condition (`INSERT … SELECT … WHERE <fence> ON CONFLICT …`), so no separate
   * read comes before it. The fence: the lease is ours under `token`, or nobody ever leased the
   * session and we hold no token either (an engine path outside the HTTP turn, e.g. the
   * warm-up's throwaway sessions). False when the fence refused; nothing written then.
   */
  async upsertFenced(tx: WriteTx, upsert: SessionRowUpsert, sessionId: string, instanceId: string, token: number | undefined): Promise<boolean> {
    const fence = token === undefined ? { sql: FENCE_UNLEASED_SQL, params: [sessionId] } : { sql: fenceOursSql(tx), params: [sessionId, instanceId, token] };
    const { changes } = await tx.run(`${upsert.into} SELECT ${placeholders(upsert.values.length)} WHERE ${fence.sql} ${upsert.onConflict}`, [...upsert.values, ...fence.params]);
    if (changes > 0) return true;
    // Nothing written: the fence refused, or the upsert's own condition did (a snapshot no newer
    // than the stored one). A read tells which, on this path only.
    const row = await tx.get<{ ours: number }>(`SELECT 1 AS ours WHERE ${fence.sql}`, fence.params);
    return row !== undefined;
  }

  async lease(sessionId: string): Promise<LeaseRow | undefined> {
    const row = await this.db.get<LeaseRow>(LEASE_SQL, [sessionId]);
    return row && normalize(row);
  }

  /** The active session of a character in the table (another instance may have made it). */
  async activeSessionOfCharacter(tx: WriteTx | DatabaseService, characterName: string): Promise<string | undefined> {
    const row = await tx.get<CharacterSessionRow>(
      `SELECT session_id FROM player_sessions WHERE character_name = ? AND status = 'active' ORDER BY last_seen_at DESC LIMIT 1`,
      [characterName],
    );
    return row?.session_id;
  }

  /** A session's row as the table has it (a take-over starts from it). */
  async sessionRow(sessionId: string): Promise<PlayerSessionEntity | undefined> {
    const r = await this.db.get<{
      session_id: string; client: string; client_version: string; pid: number | null; capabilities: string; character_name: string | null;
      status: SessionStatus; request_count: number; created_at: number; last_seen_at: number; expired_at: number | null;
    }>('SELECT * FROM player_sessions WHERE session_id = ?', [sessionId]);
    if (!r) return undefined;
    const row = new PlayerSessionEntity();
    row.sessionId = r.session_id;
    row.client = r.client;
    row.clientVersion = r.client_version;
    row.pid = r.pid === null ? null : Number(r.pid);
    row.capabilities = parseCapabilities(r.capabilities);
    row.characterName = r.character_name;
    row.status = r.status;
    row.requestCount = Number(r.request_count);
    row.createdAt = Number(r.created_at);
    row.lastSeenAt = Number(r.last_seen_at);
    row.expiredAt = r.expired_at === null ? null : Number(r.expired_at);
    return row;
  }

  /** A session's last persisted game state (a take-over resumes from it). */
  persistedSnapshot(sessionId: string): Promise<{ version: number; state_json: string; updated_at: number } | undefined> {
    return this.db.get('SELECT version, state_json, updated_at FROM game_state_snapshots WHERE session_id = ?', [sessionId]);
  }

  /** Registers or renews this instance's row. */
  async heartbeatInstance(tx: WriteTx, instanceId: string, advertisedUrl: string, startedAt: number, now: number, ttlMs: number): Promise<void> {
    await tx.run(INSTANCE_UPSERT_SQL, [instanceId, advertisedUrl, startedAt, now, now + ttlMs]);
  }

  /** At shutdown: this instance is no longer live. */
  async retireInstance(tx: WriteTx, instanceId: string, now: number): Promise<void> {
    await tx.run('UPDATE engine_instances SET expires_at = ?, heartbeat_at = ? WHERE instance_id = ?', [now, now, instanceId]);
  }

  /** Live instances (unexpired), each with its count of live leases. */
  async liveInstances(now: number): Promise<InstanceRow[]> {
    return (
      await this.db.all<InstanceRow>(
        `SELECT i.instance_id, i.advertised_url, i.started_at, i.heartbeat_at, i.expires_at,
                (SELECT COUNT(*) FROM session_leases l WHERE l.instance_id = i.instance_id AND l.expires_at > ?) AS leases
         FROM engine_instances i WHERE i.expires_at > ? ORDER BY i.instance_id`,
        [now, now],
      )
    ).map((r) => ({ ...r, started_at: Number(r.started_at), heartbeat_at: Number(r.heartbeat_at), expires_at: Number(r.expires_at), leases: Number(r.leases) }));
  }
}

async function readLease(tx: WriteTx, sessionId: string): Promise<LeaseRow | undefined> {
  const row = await tx.get<LeaseRow>(LEASE_SQL, [sessionId]);
  return row && normalize(row);
}

/** A session's row, unfenced: `${into} VALUES (…) ${onConflict}`. */
export async function upsertSessionRow(tx: WriteTx, upsert: SessionRowUpsert): Promise<void> {
  await tx.run(`${upsert.into} VALUES (${placeholders(upsert.values.length)}) ${upsert.onConflict}`, upsert.values);
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

function normalize(row: LeaseRow): LeaseRow {
  return { ...row, token: Number(row.token), expires_at: Number(row.expires_at) };
}

function parseCapabilities(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((c): c is string => typeof c === 'string') : [];
  } catch {
    return [];
  }
}
