import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { SERVER_NAME, SERVER_VERSION } from '../../config/version';
import type { HandshakeDto, HandshakeResponseDto, SessionViewDto } from './dto/handshake.dto';
import { PlayerSessionEntity } from './entities/player-session.entity';
import { SessionNotFoundError } from './session.errors';

export const SERVER_CAPABILITIES = ['handshake', 'sessions', 'health'];

export type SessionExpiredListener = (sessionId: string) => void;

/**
 * Active sessions live in memory (the hot path only touches a Map); the table is the durable
 * record, written at handshake and by the periodic sweep that also expires idle sessions.
 */
@Injectable()
export class SessionService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SessionService.name);
  private readonly active = new Map<string, PlayerSessionEntity>();
  private readonly byCharacter = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private readonly expiredListeners: SessionExpiredListener[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
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
      this.sweep().catch((err: unknown) => this.logger.error({ err }, 'session sweep failed'));
    }, every);
    this.sweepTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.flushActivity();
  }

  onSessionExpired(listener: SessionExpiredListener): void {
    this.expiredListeners.push(listener);
  }

  async handshake(dto: HandshakeDto): Promise<HandshakeResponseDto> {
    const now = Date.now();
    const row = this.newRow(dto.client, dto.client_version, dto.pid ?? null, dto.capabilities ?? [], dto.character_name ?? null, now);
    await this.dataSource.getRepository(PlayerSessionEntity).insert(row);
    this.remember(row);
    this.logger.log({ session_id: row.sessionId, client: row.client, pid: row.pid }, 'session opened');
    return {
      session_id: row.sessionId,
      server: { name: SERVER_NAME, version: SERVER_VERSION },
      capabilities: SERVER_CAPABILITIES,
      session_ttl_ms: this.config.sessionTtlMs,
      created_at: new Date(now).toISOString(),
    };
  }

  /** The plugin in the field sends no session id: its character name is the key. */
  async ensureForCharacter(characterName: string): Promise<string> {
    const existing = this.byCharacter.get(characterName);
    if (existing && this.active.has(existing)) return existing;
    const now = Date.now();
    const row = this.newRow('openkore-godtier', 'unknown', null, [], characterName, now);
    // Re-check after the await: two first requests of one character must share one session.
    await this.dataSource.getRepository(PlayerSessionEntity).insert(row);
    const raced = this.byCharacter.get(characterName);
    if (raced && this.active.has(raced)) {
      await this.dataSource.getRepository(PlayerSessionEntity).delete({ sessionId: row.sessionId });
      return raced;
    }
    this.remember(row);
    return row.sessionId;
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

  private async flushActivity(): Promise<void> {
    if (this.dirty.size === 0 || !this.dataSource.isInitialized) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    await this.dataSource.transaction(async (em) => {
      for (const id of ids) {
        const row = this.active.get(id);
        if (!row) continue;
        await em.update(PlayerSessionEntity, { sessionId: id }, { lastSeenAt: row.lastSeenAt, requestCount: row.requestCount });
      }
    });
  }

  private async persistExpiry(row: PlayerSessionEntity, now: number): Promise<void> {
    await this.dataSource
      .getRepository(PlayerSessionEntity)
      .update({ sessionId: row.sessionId }, { status: 'expired', expiredAt: now, lastSeenAt: row.lastSeenAt, requestCount: row.requestCount });
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
