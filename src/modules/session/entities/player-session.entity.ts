import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs, jsonText } from '../../../common/database/column-transformers';

export type SessionStatus = 'active' | 'expired';

@Entity('player_sessions')
export class PlayerSessionEntity {
  @PrimaryColumn({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId: string;

  @Column({ type: 'varchar', length: 64 })
  client: string;

  @Column({ name: 'client_version', type: 'varchar', length: 64 })
  clientVersion: string;

  @Column({ type: 'integer', nullable: true })
  pid: number | null;

  @Column({ type: 'text', transformer: jsonText })
  capabilities: string[];

  @Column({ name: 'character_name', type: 'varchar', length: 64, nullable: true })
  characterName: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: SessionStatus;

  @Column({ name: 'request_count', type: 'bigint', transformer: epochMs })
  requestCount: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;

  @Column({ name: 'last_seen_at', type: 'bigint', transformer: epochMs })
  lastSeenAt: number;

  @Column({ name: 'expired_at', type: 'bigint', nullable: true, transformer: epochMs })
  expiredAt: number | null;
}
