import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, Min } from 'class-validator';
import { MAX_PLAYER_ID } from '../player-id';
import { NO_CONTROL_CHARS, NameField } from './fields';
import { INTERACTION_EVENTS, MAX_DELTA, TIERS, type InteractionEvent } from '../reputation.rules';

const REQUEST_ID = /^[A-Za-z0-9._:-]+$/;
const TIER_NAMES = TIERS.map((t) => t.tier);

export class AdjustReputationDto {
  @ApiProperty({ example: 150001, minimum: 0, maximum: MAX_PLAYER_ID, description: "The game's integer id of the player" })
  @IsInt()
  @Min(0)
  @Max(MAX_PLAYER_ID)
  player_id: number;

  @NameField('player_name', { example: 'SomeKnight' })
  player_name: string;

  @ApiProperty({ example: 5, minimum: -MAX_DELTA, maximum: MAX_DELTA, description: 'Integer change; the score is clamped to [-100, 100]' })
  @IsInt()
  @Min(-MAX_DELTA)
  @Max(MAX_DELTA)
  delta: number;

  @ApiProperty({ example: 'shared loot fairly', maxLength: 200 })
  @IsString()
  @Length(1, 200)
  @Matches(NO_CONTROL_CHARS, { message: 'reason must not contain control characters' })
  reason: string;

  @ApiPropertyOptional({
    example: 'bot7-adjust-000042',
    maxLength: 64,
    description: 'Idempotency key: a request repeated with the same request_id is applied once (the repeat returns the first result)',
  })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(REQUEST_ID, { message: 'request_id may contain letters, digits and . _ : - only' })
  request_id?: string;
}

export class InteractionDto {
  @ApiProperty({ example: 150001, minimum: 0, maximum: MAX_PLAYER_ID })
  @IsInt()
  @Min(0)
  @Max(MAX_PLAYER_ID)
  player_id: number;

  @NameField('player_name', { example: 'SomeKnight' })
  player_name: string;

  @ApiProperty({ enum: INTERACTION_EVENTS, example: 'fair_trade', description: 'An event of the rule table (GET /social/interaction/rules)' })
  @IsString()
  @IsIn(INTERACTION_EVENTS)
  event: InteractionEvent;

  @ApiPropertyOptional({ maxLength: 64, description: 'Idempotency key, as for /social/reputation/adjust' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(REQUEST_ID, { message: 'request_id may contain letters, digits and . _ : - only' })
  request_id?: string;

  @ApiPropertyOptional({ format: 'uuid', description: "The reporting bot's session: counts into its statistics (and serializes with its other requests)" })
  @IsOptional()
  @IsUUID('4')
  session_id?: string;
}

/**
 * `:playerId` stays a string through validation: converting it first (as a `number` parameter
 * would) turns "1e3" into 1000. requirePlayerId() converts it after the digits check.
 */
export class PlayerIdParamDto {
  @ApiProperty({ example: '150001', description: 'The game id of the player (non-negative integer)' })
  @IsString()
  @Matches(/^\d{1,16}$/, { message: 'playerId must be a non-negative integer' })
  playerId: string;
}

export class HistoryQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ minimum: 1, description: 'Cursor: only entries with a smaller id (use next_before_id of the previous page)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  before_id?: number;
}

export class ReputationViewDto {
  @ApiProperty({ example: 150001 }) player_id: number;
  @ApiProperty({ example: 'SomeKnight' }) player_name: string;
  @ApiProperty({ minimum: -100, maximum: 100, example: 30 }) reputation_score: number;
  @ApiProperty({ enum: TIER_NAMES, example: 'Acquaintance' }) reputation_tier: string;
  @ApiProperty() total_interactions: number;
  @ApiProperty() positive_interactions: number;
  @ApiProperty() negative_interactions: number;
  @ApiProperty({ format: 'date-time' }) first_seen: string;
  @ApiProperty({ format: 'date-time' }) last_seen: string;
  @ApiProperty() is_friend: boolean;
  @ApiProperty() is_guild_member: boolean;
  @ApiProperty() is_whitelisted: boolean;
  @ApiProperty() is_blacklisted: boolean;
  @ApiProperty({ nullable: true, type: String }) notes: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

export class ReputationChangeDto {
  @ApiProperty({ description: 'History entry of this change' }) history_id: number;
  @ApiProperty({ example: 'adjust' }) interaction_type: string;
  @ApiProperty() requested_delta: number;
  @ApiProperty({ description: 'The change after clamping to [-100, 100]' }) applied_delta: number;
  @ApiProperty() score_before: number;
  @ApiProperty() score_after: number;
  @ApiProperty({ enum: TIER_NAMES }) tier_before: string;
  @ApiProperty({ enum: TIER_NAMES }) tier_after: string;
  @ApiProperty({ description: 'True when request_id repeated an earlier request: nothing was applied again' }) replayed: boolean;
}

export class AdjustResultDto {
  @ApiProperty({ type: ReputationViewDto }) reputation: ReputationViewDto;
  @ApiProperty({ type: ReputationChangeDto }) change: ReputationChangeDto;
}

export class HistoryItemDto {
  @ApiProperty() id: number;
  @ApiProperty() player_id: number;
  @ApiProperty() player_name: string;
  @ApiProperty({ example: 'fair_trade' }) interaction_type: string;
  @ApiProperty({ description: 'The reason given, or the rule that fired' }) outcome: string;
  @ApiProperty() reputation_delta: number;
  @ApiProperty() applied_delta: number;
  @ApiProperty() score_before: number;
  @ApiProperty() score_after: number;
  @ApiProperty({ enum: TIER_NAMES }) tier_after: string;
  @ApiProperty({ enum: ['api', 'compat'] }) source: string;
  @ApiProperty({ nullable: true, type: String }) character_name: string | null;
  @ApiProperty({ nullable: true, type: String }) session_id: string | null;
  @ApiProperty({ nullable: true, type: String }) request_id: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class HistoryPageDto {
  @ApiProperty() player_id: number;
  @ApiProperty({ type: [HistoryItemDto], description: 'Newest first' }) items: HistoryItemDto[];
  @ApiProperty({ nullable: true, type: Number, description: 'Pass as before_id for the next page; null on the last page' })
  next_before_id: number | null;
}

export class InteractionRuleDto {
  @ApiProperty({ example: 'fair_trade' }) event: string;
  @ApiProperty({ example: 5 }) delta: number;
  @ApiProperty() description: string;
}

export class TierDto {
  @ApiProperty({ example: 'Friendly' }) tier: string;
  @ApiProperty({ example: 50, nullable: true, type: Number, description: 'Lowest score of the tier; null for the bottom tier' })
  min_score: number | null;
}

export class InteractionRulesDto {
  @ApiProperty({ type: [InteractionRuleDto] }) rules: InteractionRuleDto[];
  @ApiProperty({ type: [TierDto] }) tiers: TierDto[];
}
