import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../../../common/database/column-transformers';

/** One row per reputation change or recorded interaction; appended in the same transaction. */
@Entity('interaction_history')
export class InteractionHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'player_id', type: 'bigint', transformer: epochMs })
  playerId: number;

  @Column({ name: 'player_name', type: 'varchar', length: 64 })
  playerName: string;

  @Column({ name: 'interaction_type', type: 'varchar', length: 32 })
  interactionType: string;

  @Column({ type: 'varchar', length: 200 })
  outcome: string;

  @Column({ name: 'reputation_delta', type: 'integer' })
  reputationDelta: number;

  @Column({ name: 'applied_delta', type: 'integer' })
  appliedDelta: number;

  @Column({ name: 'score_before', type: 'integer' })
  scoreBefore: number;

  @Column({ name: 'score_after', type: 'integer' })
  scoreAfter: number;

  @Column({ name: 'tier_after', type: 'varchar', length: 16 })
  tierAfter: string;

  @Column({ type: 'varchar', length: 16 })
  source: string;

  @Column({ name: 'character_name', type: 'varchar', length: 64, nullable: true })
  characterName: string | null;

  @Column({ name: 'session_id', type: 'varchar', length: 36, nullable: true })
  sessionId: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;
}
