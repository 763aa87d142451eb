import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../../../common/database/column-transformers';

/** docs/architecture.md "Data: reputation": `player_reputation`. Written only by ReputationService inside DatabaseService.write. */
@Entity('player_reputation')
export class PlayerReputationEntity {
  @PrimaryColumn({ name: 'player_id', type: 'bigint', transformer: epochMs })
  playerId: number;

  @Column({ name: 'player_name', type: 'varchar', length: 64 })
  playerName: string;

  @Column({ name: 'reputation_score', type: 'integer' })
  reputationScore: number;

  @Column({ name: 'reputation_tier', type: 'varchar', length: 16 })
  reputationTier: string;

  @Column({ name: 'total_interactions', type: 'bigint', transformer: epochMs })
  totalInteractions: number;

  @Column({ name: 'positive_interactions', type: 'bigint', transformer: epochMs })
  positiveInteractions: number;

  @Column({ name: 'negative_interactions', type: 'bigint', transformer: epochMs })
  negativeInteractions: number;

  @Column({ name: 'first_seen', type: 'bigint', transformer: epochMs })
  firstSeen: number;

  @Column({ name: 'last_seen', type: 'bigint', transformer: epochMs })
  lastSeen: number;

  @Column({ name: 'is_friend', type: 'boolean' })
  isFriend: boolean;

  @Column({ name: 'is_guild_member', type: 'boolean' })
  isGuildMember: boolean;

  @Column({ name: 'is_whitelisted', type: 'boolean' })
  isWhitelisted: boolean;

  @Column({ name: 'is_blacklisted', type: 'boolean' })
  isBlacklisted: boolean;

  @Column({ type: 'text', nullable: true })
  notes: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt: number;
}
