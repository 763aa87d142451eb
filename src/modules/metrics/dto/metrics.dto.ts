import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { type DecisionTier, DECISION_TIERS } from '../../decision';

const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]+$/;
const TOKEN = /^[A-Za-z0-9._:-]+$/;
/** An hour: anything longer is not a decision's processing time. */
export const MAX_PROCESSING_TIME_MS = 3_600_000;

/** `POST /api/v1/metrics/log`: the outcome of one decision, as the bot saw it. */
export class MetricsLogDto {
  @ApiProperty({ example: '1f0c5a9e-8d4b-4c51-9a57-1d2d8a3b6c7e', maxLength: 36, description: 'The session (or the plugin\'s character name)' })
  @IsString()
  @Length(1, 36)
  @Matches(NO_CONTROL_CHARS, { message: 'session_id must not contain control characters' })
  session_id: string;

  @ApiProperty({ enum: DECISION_TIERS })
  @IsIn(DECISION_TIERS)
  decision_tier: DecisionTier;

  @ApiProperty({ example: 'ATTACK', maxLength: 32 })
  @IsString()
  @Length(1, 32)
  @Matches(TOKEN, { message: 'action_type may contain letters, digits and . _ : - only' })
  action_type: string;

  @ApiProperty()
  @IsBoolean()
  success: boolean;

  @ApiPropertyOptional({ example: 'monster killed', maxLength: 1000, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  outcome?: string | null;

  @ApiProperty({ example: 3.2, minimum: 0, maximum: MAX_PROCESSING_TIME_MS })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_PROCESSING_TIME_MS)
  processing_time_ms: number;

  @ApiPropertyOptional({
    example: 'farm-orcs-v3',
    maxLength: 128,
    description: 'The PDCA strategy the decision followed: its outcome and time then count in that strategy\'s summary',
  })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(TOKEN, { message: 'strategy_id may contain letters, digits and . _ : - only' })
  strategy_id?: string;
}

export class MetricsLogResultDto {
  @ApiProperty({ example: 1234, description: 'decision_log.id of the committed row' })
  log_id: number;
}

/** `GET /api/v1/metrics/event-loop?since=…` */
export class EventLoopDelayQueryDto {
  @ApiPropertyOptional({ description: 'Only delays measured from this time on (epoch ms); the window bounds it', example: 1764288000000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  since?: number;
}
