import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { LatestWriter, type WriterStats } from '../../common/database/background-writer';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import { PeriodicJobs } from '../../common/scheduling';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { SERVER_NAME, SERVER_VERSION } from '../../config/version';
import type { HandshakeDto, HandshakeResponseDto, SessionViewDto } from './dto/handshake.dto';
import { PlayerSessionEntity } from './entities/player-session.entity';
import { SessionNotFoundError } from './session.errors';
import type { SessionDirectory, SessionRef } from '../../common/ports/session-directory.port';
import { SessionLeaseRepository, type SessionRowUpsert } from './session-lease.repository';
import { SessionOwnership, writeSessionRows } from './session-ownership.service';

export const SERVER_CAPABILITIES = ['handshake', 'sessions', 'health'];

export type SessionExpiredListener = (sessionId: string) => void;
/** A session (re)loaded from the database: what a listener keeps of it in memory is stale. */
/** May return a promise (a reload from the database): an adoption waits for it before the session serves. */
export type SessionAdoptedListener = (sessionId: string) => void | Promise<void>;

/** Session rows per transaction: ~2 µs each (bench/README.md), ~0.3 ms a slice. */
export const SESSION_SLICE_ROWS = 128;
/** The periodic job expiring idle sessions and writing changed session rows. */
export const SESSION_SWEEP_JOB = 'session.sweep';

/**
 * Active sessions live in memory (the hot path only touches a Map); the table is the durable
 * record. A handshake's row is committed before it is answered; a plugin character's session is
 * created in memory on first sight and, like every session's activity and expiry, persisted by
 * a background writer (bounded slices, off the request path) at the periodic sweep and at
 * shutdown.
 */
@Injectable()
export class SessionService implements OnModuleInit, BeforeApplicationShutdown, SessionDirectory {
  private readonly logger = new Logger(SessionService.name);
  private readonly active = new Map<string, PlayerSessionEntity>();
  private readonly byCharacter = new Map<string, string>();
  private readonly expiredListeners: SessionExpiredListener[] = [];
  private readonly adoptedListeners: SessionAdoptedListener[] = [];
  /** Lease takes in flight, by session id or `character:<name>`: one take per session at a time. */
  private readonly claiming = new Map<string, Promise<string>>();
  private sweeping: Promise<void> | undefined;
  /** Sessions whose row changed (created, active, expired) since it was last written. */
  private readonly writer: LatestWriter<string, PlayerSessionEntity>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly db: DatabaseService,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
    // Absent (unit specs, the warm-up's throwaway engine): one instance, no leases.
    @Optional() @Inject(SessionOwnership) private readonly ownership: SessionOwnership | null = null,
    @Optional() @Inject(SessionLeaseRepository) private readonly leases: SessionLeaseRepository | null = null,
  ) {
    this.writer = new LatestWriter<string, PlayerSessionEntity>({
      name: 'player_sessions',
      sliceRows: SESSION_SLICE_ROWS,
      writeSlice: (slice) => this.writeSlice(slice),
      // While writes fail for lack of space, flushes back off (the rows stay pending, in memory).
      defer: () => this.db.storage.deferBackground(),
    });
  }

  /**
   * One slice in one transaction. A session's expiry is fenced like a state write: written only
   * while the lease is still this instance's under the token it holds, so an instance that lost
   * the session cannot mark the new owner's live row expired.
   */
  private writeSlice(slice: ReadonlyArray<readonly [string, PlayerSessionEntity]>): Promise<void> {
    const ownership = this.ownership;
    return writeSessionRows(
      this.db,
      ownership,
      slice,
      ([sessionId, row]) => {
        const token = row.status === 'expired' ? ownership?.tokenOf(sessionId) : undefined;
        return { sessionId, upsert: upsertOf(row), fence: token === undefined ? undefined : { token } };
      },
      'session.persist',
    );
  }

  async onModuleInit(): Promise<void> {
    const repo = this.dataSource.getRepository(PlayerSessionEntity);
    const rows = await repo.find({ where: { status: 'active' } });
    const now = Date.now();
    for (const row of rows) {
      if (now - row.lastSeenAt > this.config.sessionTtlMs) {
        this.writer.set(row.sessionId, expire(row, now));
      } else {
        this.remember(row);
      }
    }
    await this.writer.flush();
    this.ownership?.onLost((id) => this.evict(id));
    const every = Math.max(250, Math.min(60_000, Math.floor(this.config.sessionTtlMs / 4)));
    // One sweep at a time (a tick during a sweep is skipped), and shutdown waits for the running one.
    this.jobs.register(SESSION_SWEEP_JOB, {
      intervalMs: every,
      run: () => (this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined))),
      onError: (err) => this.logger.error({ err }, 'session sweep failed'),
    });
  }

  // Before TypeORM closes the connection in its own shutdown hook.
  async beforeApplicationShutdown(): Promise<void> {
    // A sweep's flush may still be writing: the database must outlive it.
    await this.jobs.stop(SESSION_SWEEP_JOB);
    await this.sweeping?.catch(() => undefined);
    await this.writer.close();
  }

  onSessionExpired(listener: SessionExpiredListener): void {
    this.expiredListeners.push(listener);
  }

  /**
   * Called when this instance takes a session over from another (or from its own lapsed past
   * with someone in between): the session's row was reloaded; listeners reload what they keep
   * (the game state from its last persisted snapshot). Runs before the request is served.
   */
  onSessionAdopted(listener: SessionAdoptedListener): void {
    this.adoptedListeners.push(listener);
  }

  /**
   * Opens a session — or, for a character that has one (its plugin's, made on first sight),
   * returns that one with the client's details: one bot, one session.
   */
  async handshake(dto: HandshakeDto): Promise<HandshakeResponseDto> {
    const existing = dto.character_name === undefined ? undefined : this.sessionForCharacter(dto.character_name);
    const row = existing ? this.active.get(existing)! : this.newRow(dto.client, dto.client_version, dto.pid ?? null, dto.capabilities ?? [], dto.character_name ?? null, Date.now());
    if (existing) {
      row.client = dto.client;
      row.clientVersion = dto.client_version;
      row.pid = dto.pid ?? null;
      row.capabilities = dto.capabilities ?? [];
      await this.db.write(
        async (tx) => {
          // A character's session made on first sight may not be written yet: the handshake's answer is durable either way.
          await insertRow(tx, row, true);
          await tx.run('UPDATE player_sessions SET client = ?, client_version = ?, pid = ?, capabilities = ? WHERE session_id = ?', [
            row.client,
            row.clientVersion,
            row.pid,
            JSON.stringify(row.capabilities),
            row.sessionId,
          ]);
        },
        { label: 'session.handshake' },
      );
      this.touch(row.sessionId);
      this.logger.log({ session_id: row.sessionId, client: row.client, pid: row.pid }, 'session joined');
    } else {
      // No lease yet: behind a load balancer the bot's next requests (by session id) may be
      // routed to another instance, and the first of them takes the lease where it lands.
      await this.db.write((tx) => insertRow(tx, row), { label: 'session.handshake' });
      this.remember(row);
      this.logger.log({ session_id: row.sessionId, client: row.client, pid: row.pid }, 'session opened');
    }
    return {
      session_id: row.sessionId,
      server: { name: SERVER_NAME, version: SERVER_VERSION },
      capabilities: SERVER_CAPABILITIES,
      session_ttl_ms: this.config.sessionTtlMs,
      created_at: new Date(row.createdAt).toISOString(),
    };
  }

  /**
   * The plugin in the field sends no session id: its character name is the key. The character's
   * active session (created on first sight), with this request counted as its activity.
   */
  async touchCharacter(characterName: string): Promise<string> {
    return this.touchCharacterNow(characterName);
  }

  /**
   * `touchCharacter` without the promise. First sight creates the session in memory — found and
   * created in one synchronous step, so two first requests of one character share it — and its
   * row is written by the background writer; no request waits for a transaction.
   */
  touchCharacterNow(characterName: string): string {
    const sessionId = this.sessionForCharacter(characterName) ?? this.createForCharacter(characterName);
    this.touch(sessionId);
    return sessionId;
  }

  /** First sight of a character: its session, in memory (the background writer writes its row). */
  private createForCharacter(characterName: string): string {
    const row = this.newRow('openkore-godtier', 'unknown', null, [], characterName, Date.now());
    this.remember(row);
    this.writer.set(row.sessionId, row);
    return row.sessionId;
  }

  /**
   * Inside the caller's write transaction: the session's row, written now if it may not be yet
   * (a character seen for the first time this second), so a statement of that transaction that
   * updates it (social statistics) finds it. Never overwrites a row that is there.
   */
  async ensureRow(tx: WriteTx, sessionId: string): Promise<void> {
    const row = this.active.get(sessionId);
    if (row) await insertRow(tx, row, true);
  }

  /**
   * SessionDirectory: the session a request names (one identity per bot, see the port). Never a
   * promise: a character's first session is made in memory, in the same synchronous step that
   * looked for it (so two first requests share it), and written in the background.
   */
  sessionIdFor(ref: SessionRef): string | Promise<string> {
    const ownership = this.ownership;
    if (!ownership) {
      if ('sessionId' in ref) return ref.sessionId;
      return this.sessionForCharacter(ref.characterName) ?? this.createForCharacter(ref.characterName);
    }
    const id = 'sessionId' in ref ? ref.sessionId : this.sessionForCharacter(ref.characterName);
    // Hot path: the lease is ours with time to spare (a map lookup, no write).
    if (id !== undefined && ownership.holds(id)) return id;
    const key = id ?? `character:${(ref as { characterName: string }).characterName}`;
    let pending = this.claiming.get(key);
    if (!pending) {
      pending = this.claim(ownership, ref, id).finally(() => this.claiming.delete(key));
      this.claiming.set(key, pending);
    }
    return pending;
  }

  /**
   * Takes the lease of the session `ref` names (SESSION_ELSEWHERE while another live instance
   * holds it). A session taken over is loaded from the database first. A character this
   * instance does not know is looked up in the table — another instance may have played it —
   * and only created when it has no active session; found-or-created and leased in one
   * transaction, so two instances cannot both create one.
   */
  private async claim(ownership: SessionOwnership, ref: SessionRef, id: string | undefined): Promise<string> {
    if (id !== undefined) {
      if (!this.active.has(id) && !(await this.activeInTable(id))) {
        // Unknown here and in the table: no lease for it; the handler answers 404.
        if ('sessionId' in ref) return id;
      } else {
        const claim = await ownership.acquire(id);
        // The session's first lease, of a session this instance already has (its handshake was
        // here): nothing to reload, and its pending row writes stay.
        if (claim.continuous || (claim.first && this.active.has(id)) || (await this.adopt(id))) return id;
        // Ended elsewhere meanwhile: a character starts again below.
        await ownership.release(id);
        if ('sessionId' in ref) return id;
      }
    }
    const name = (ref as { characterName: string }).characterName;
    const leases = this.leases!;
    // Leased by another live instance: refused on a read, without a write transaction.
    const seen = await leases.activeSessionOfCharacter(this.db, name);
    if (seen !== undefined) await ownership.refuseIfElsewhere(seen);
    const known = new Map<string, number | undefined>();
    const found = await this.db.write(
      async (tx) => {
        const existing = await leases.activeSessionOfCharacter(tx, name);
        if (existing !== undefined) {
          known.set(existing, ownership.tokenOf(existing));
          return { sessionId: existing, row: undefined, take: await ownership.takeIn(tx, existing) };
        }
        const row = this.newRow('openkore-godtier', 'unknown', null, [], name, Date.now());
        await insertRow(tx, row);
        return { sessionId: row.sessionId, row, take: await ownership.takeIn(tx, row.sessionId) };
      },
      // Found-or-created: two instances claiming a character nobody plays would each create a
      // session on PostgreSQL's read committed; serializable lets only one of them commit.
      { label: 'session.claim', isolation: 'serializable' },
    );
    const claim = ownership.record(found.sessionId, found.row ? undefined : known.get(found.sessionId), found.take);
    if (found.row) {
      this.remember(found.row);
    } else if (!claim.continuous && !(claim.first && this.active.has(found.sessionId))) {
      await this.adopt(found.sessionId);
    }
    return found.sessionId;
  }

  private async activeInTable(sessionId: string): Promise<boolean> {
    return (await this.leases?.sessionRow(sessionId))?.status === 'active';
  }

  /**
   * Loads a session taken over from the table, replacing what this instance had of it, and
   * tells the listeners (the state reloads its snapshot). False when the session is no longer
   * active there.
   */
  private async adopt(sessionId: string): Promise<boolean> {
    const row = await this.leases?.sessionRow(sessionId);
    this.writer.delete(sessionId);
    const had = this.active.get(sessionId);
    if (had) this.forget(had);
    if (!row || row.status !== 'active') {
      await this.notifyAll(sessionId);
      return false;
    }
    this.remember(row);
    await this.notifyAll(sessionId);
    this.logger.log({ session_id: sessionId, character_name: row.characterName }, 'session adopted from the database');
    return true;
  }

  /** Another instance owns the session now: this one forgets it (no write: the row is the owner's). */
  private evict(sessionId: string): void {
    const row = this.active.get(sessionId);
    this.writer.delete(sessionId);
    if (row) this.forget(row);
    void this.notifyAll(sessionId);
  }

  /** Every adopted listener, each one's failure logged (never thrown); resolves once all are done. */
  private async notifyAll(sessionId: string): Promise<void> {
    await Promise.all(this.adoptedListeners.map((listener) => this.notify(listener, sessionId)));
  }

  private async notify(listener: SessionAdoptedListener, sessionId: string): Promise<void> {
    try {
      await listener(sessionId);
    } catch (err) {
      this.logger.error({ err, session_id: sessionId }, 'session listener failed');
    }
  }

  /** The active session of a character (the plugin's key), if any. */
  sessionForCharacter(characterName: string): string | undefined {
    const id = this.byCharacter.get(characterName);
    return id && this.active.has(id) ? id : undefined;
  }

  exists(sessionId: string): boolean {
    return this.active.has(sessionId);
  }

  /** Marks activity on a session; throws SessionNotFoundError for unknown or expired ones. */
  touch(sessionId: string): void {
    const row = this.active.get(sessionId);
    if (!row) throw new SessionNotFoundError(sessionId);
    row.lastSeenAt = Date.now();
    row.requestCount += 1;
    this.writer.set(sessionId, row);
  }

  get(sessionId: string): SessionViewDto {
    const row = this.active.get(sessionId);
    if (!row) throw new SessionNotFoundError(sessionId);
    return toView(row);
  }

  list(): SessionViewDto[] {
    return [...this.active.values()].map(toView);
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** Expires sessions idle past the TTL and persists every row changed since the last sweep. */
  async sweep(now = Date.now()): Promise<void> {
    const ended: string[] = [];
    for (const row of [...this.active.values()]) {
      if (now - row.lastSeenAt > this.config.sessionTtlMs) {
        if (this.ownership && this.ownership.tokenOf(row.sessionId) === undefined && (await this.leases?.lease(row.sessionId)) !== undefined) {
          // Known here only from the table, served by some instance: its owner ends it, not this one.
          this.forget(row);
          await this.notifyAll(row.sessionId);
          continue;
        }
        // Leased here once, taken by another instance since (its bot moved while idle here):
        // evicted by the ownership (its lost listener), never expired over the new owner's row.
        if (this.ownership && this.ownership.tokenOf(row.sessionId) !== undefined && !(await this.ownership.confirm(row.sessionId))) continue;
        ended.push(row.sessionId);
        this.forget(row);
        this.writer.set(row.sessionId, expire(row, now));
        for (const listener of this.expiredListeners) {
          try {
            listener(row.sessionId);
          } catch (err) {
            this.logger.error({ err, session_id: row.sessionId }, 'session expiry listener failed');
          }
        }
        this.logger.log({ session_id: row.sessionId }, 'session expired');
      }
    }
    await this.flush();
    // Session end gives its lease up (after the expired rows are written).
    for (const id of ended) await this.ownership?.release(id);
  }

  /** Writes every session row changed so far; resolves once committed (or a slice failed: kept for the next flush). */
  async flush(): Promise<void> {
    await this.writer.flush();
  }

  /** The background writer's figures (rows pending, written, slices). */
  writerStats(): WriterStats {
    return this.writer.stats();
  }

  private newRow(client: string, clientVersion: string, pid: number | null, capabilities: string[], characterName: string | null, now: number): PlayerSessionEntity {
    const row = new PlayerSessionEntity();
    row.sessionId = randomUUID();
    row.client = client;
    row.clientVersion = clientVersion;
    row.pid = pid;
    row.capabilities = capabilities;
    row.characterName = characterName;
    row.status = 'active';
    row.requestCount = 0;
    row.createdAt = now;
    row.lastSeenAt = now;
    row.expiredAt = null;
    return row;
  }

  private remember(row: PlayerSessionEntity): void {
    this.active.set(row.sessionId, row);
    if (row.characterName) this.byCharacter.set(row.characterName, row.sessionId);
  }

  private forget(row: PlayerSessionEntity): void {
    this.active.delete(row.sessionId);
    if (row.characterName && this.byCharacter.get(row.characterName) === row.sessionId) this.byCharacter.delete(row.characterName);
  }
}

const COLUMNS = 'session_id, client, client_version, pid, capabilities, character_name, status, request_count, created_at, last_seen_at, expired_at';

function rowParams(row: PlayerSessionEntity): unknown[] {
  return [row.sessionId, row.client, row.clientVersion, row.pid, JSON.stringify(row.capabilities), row.characterName, row.status, row.requestCount, row.createdAt, row.lastSeenAt, row.expiredAt];
}

const INSERT_SQL = `INSERT INTO player_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** Portable (SQLite ≥ 3.24, PostgreSQL), unlike SQLite's `INSERT OR IGNORE`. */
const INSERT_IF_ABSENT_SQL = `${INSERT_SQL} ON CONFLICT (session_id) DO NOTHING`;

/** The row; `ifAbsent`: unless the session's row is already there (then nothing changes). */
async function insertRow(tx: WriteTx, row: PlayerSessionEntity, ifAbsent = false): Promise<void> {
  await tx.run(ifAbsent ? INSERT_IF_ABSENT_SQL : INSERT_SQL, rowParams(row));
}

/**
 * The whole row on first write, then only what this service changes (other modules own other
 * columns: the social statistics).
 */
function upsertOf(row: PlayerSessionEntity): SessionRowUpsert {
  return {
    into: `INSERT INTO player_sessions (${COLUMNS})`,
    values: rowParams(row),
    onConflict: `ON CONFLICT(session_id) DO UPDATE SET status = excluded.status, request_count = excluded.request_count,
       last_seen_at = excluded.last_seen_at, expired_at = excluded.expired_at`,
  };
}

function expire(row: PlayerSessionEntity, now: number): PlayerSessionEntity {
  row.status = 'expired';
  row.expiredAt = now;
  return row;
}

function toView(row: PlayerSessionEntity): SessionViewDto {
  return {
    session_id: row.sessionId,
    client: row.client,
    client_version: row.clientVersion,
    pid: row.pid,
    capabilities: row.capabilities,
    character_name: row.characterName,
    status: row.status,
    request_count: row.requestCount,
    created_at: new Date(row.createdAt).toISOString(),
    last_seen_at: new Date(row.lastSeenAt).toISOString(),
  };
}
