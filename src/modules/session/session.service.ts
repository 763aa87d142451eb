import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { SERVER_NAME, SERVER_VERSION } from '../../config/version';
import type { HandshakeDto, HandshakeResponseDto, SessionViewDto } from './dto/handshake.dto';
import { PlayerSessionEntity } from './entities/player-session.entity';
import { SessionNotFoundError } from './session.errors';
import { SerialTask } from '../../common/async/serial-task';
import type { SessionDirectory, SessionRef } from '../../common/ports/session-directory.port';

export const SERVER_CAPABILITIES = ['handshake', 'sessions', 'health'];

export type SessionExpiredListener = (sessionId: string) => void;

/**
 * Active sessions live in memory (the hot path only touches a Map); the table is the durable
 * record, written at handshake and by the periodic sweep that also expires idle sessions.
 */
@Injectable()
export class SessionService implements OnModuleInit, BeforeApplicationShutdown, SessionDirectory {
  private readonly logger = new Logger(SessionService.name);
  private readonly active = new Map<string, PlayerSessionEntity>();
  private readonly byCharacter = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private readonly expiredListeners: SessionExpiredListener[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly activityFlusher = new SerialTask(() => this.flushActivityOnce());

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly db: DatabaseService,
  ) {}

  async onModuleInit(): Promise<void> {
    const repo = this.dataSource.getRepository(PlayerSessionEntity);
    const rows = await repo.find({ where: { status: 'active' } });
    const now = Date.now();
    for (const row of rows) {
      if (now - row.lastSeenAt > this.config.sessionTtlMs) {
        await this.persistExpiry(row, now);
      } else {
        this.remember(row);
      }
    }
    const every = Math.max(250, Math.min(60_000, Math.floor(this.config.sessionTtlMs / 4)));
    this.sweepTimer = setInterval(() => {
      // One sweep at a time, and shutdown waits for the running one.
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.logger.error({ err }, 'session sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, every);
    this.sweepTimer.unref();
  }

  // Before TypeORM closes the connection in its own shutdown hook.
  async beforeApplicationShutdown(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    // A sweep's chunked flush may still be writing: the database must outlive it.
    await this.sweeping;
    await this.flushActivity();
  }

  onSessionExpired(listener: SessionExpiredListener): void {
    this.expiredListeners.push(listener);
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
        (tx) =>
          tx.run('UPDATE player_sessions SET client = ?, client_version = ?, pid = ?, capabilities = ? WHERE session_id = ?', [
            row.client,
            row.clientVersion,
            row.pid,
            JSON.stringify(row.capabilities),
            row.sessionId,
          ]),
        { label: 'session.handshake' },
      );
      this.touch(row.sessionId);
      this.logger.log({ session_id: row.sessionId, client: row.client, pid: row.pid }, 'session joined');
    } else {
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
    const sessionId = this.sessionForCharacter(characterName) ?? (await this.createForCharacter(characterName));
    this.touch(sessionId);
    return sessionId;
  }

  private createForCharacter(characterName: string): Promise<string> {
    const row = this.newRow('openkore-godtier', 'unknown', null, [], characterName, Date.now());
    // The body runs synchronously under the DATABASE lock: checking again there makes two
    // first requests of one character share one session.
    return this.db.write(
      (tx) => {
        const raced = this.sessionForCharacter(characterName);
        if (raced) return raced;
        insertRow(tx, row);
        this.remember(row);
        return row.sessionId;
      },
      { label: 'session.createForCharacter' },
    );
  }

  /** SessionDirectory: the session a request names (one identity per bot, see the port). */
  sessionIdFor(ref: SessionRef): string | Promise<string> {
    if ('sessionId' in ref) return ref.sessionId;
    return this.sessionForCharacter(ref.characterName) ?? this.createForCharacter(ref.characterName);
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
    this.dirty.add(sessionId);
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

  /** Expires sessions idle past the TTL and persists activity counters. */
  async sweep(now = Date.now()): Promise<void> {
    for (const row of [...this.active.values()]) {
      if (now - row.lastSeenAt > this.config.sessionTtlMs) {
        this.forget(row);
        await this.persistExpiry(row, now);
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
    await this.flushActivity();
  }

  /** Writes the activity counters changed since the last flush; one flush at a time. */
  private flushActivity(): Promise<void> {
    return this.activityFlusher.run();
  }

  private async flushActivityOnce(): Promise<void> {
    // While writes fail for lack of space, flushes back off (the counters stay dirty, in memory).
    if (this.dirty.size === 0 || !this.dataSource.isInitialized || this.db.storage.deferBackground()) return;
    const rows = [...this.dirty].map((id) => this.active.get(id)).filter((r): r is PlayerSessionEntity => !!r);
    this.dirty.clear();
    const { written, error } = await this.db.writeChunked(
      rows,
      (tx, chunk) => {
        for (const row of chunk) {
          tx.run('UPDATE player_sessions SET last_seen_at = ?, request_count = ? WHERE session_id = ?', [row.lastSeenAt, row.requestCount, row.sessionId]);
        }
      },
      { label: 'session.flushActivity' },
    );
    if (error !== undefined) {
      for (const row of rows.slice(written)) this.dirty.add(row.sessionId);
      throw error;
    }
  }

  private async persistExpiry(row: PlayerSessionEntity, now: number): Promise<void> {
    await this.db.write(
      (tx) =>
        tx.run(`UPDATE player_sessions SET status = 'expired', expired_at = ?, last_seen_at = ?, request_count = ? WHERE session_id = ?`, [
          now,
          row.lastSeenAt,
          row.requestCount,
          row.sessionId,
        ]),
      { label: 'session.expire' },
    );
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
    this.dirty.delete(row.sessionId);
    if (row.characterName && this.byCharacter.get(row.characterName) === row.sessionId) this.byCharacter.delete(row.characterName);
  }
}

function insertRow(tx: WriteTx, row: PlayerSessionEntity): void {
  tx.run(
    `INSERT INTO player_sessions (session_id, client, client_version, pid, capabilities, character_name, status, request_count, created_at, last_seen_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [row.sessionId, row.client, row.clientVersion, row.pid, JSON.stringify(row.capabilities), row.characterName, row.status, row.requestCount, row.createdAt, row.lastSeenAt],
  );
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
