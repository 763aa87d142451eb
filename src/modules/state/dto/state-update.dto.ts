import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { MergeStrategy } from '../state-merger';
import { CharacterDto, GameStateDto } from './game-state.dto';

export class PartialCharacterDto extends PartialType(CharacterDto) {}

export class GameStatePatchDto extends PartialType(OmitType(GameStateDto, ['character'] as const)) {
  @ApiPropertyOptional({ type: PartialCharacterDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => PartialCharacterDto)
  character?: PartialCharacterDto;
}

export class StateUpdateDto {
  @ApiProperty({ format: 'uuid', description: 'From POST /handshake' })
  @IsUUID()
  session_id: string;

  @ApiPropertyOptional({ type: GameStateDto, description: 'The whole state: replaces the snapshot. Send this or `patch`.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => GameStateDto)
  game_state?: GameStateDto;

  @ApiPropertyOptional({ type: GameStatePatchDto, description: 'Some fields: merged into the snapshot with `merge_strategy`.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => GameStatePatchDto)
  patch?: GameStatePatchDto;

  @ApiPropertyOptional({ enum: MergeStrategy, default: MergeStrategy.LAST_WRITE_WINS })
  @IsOptional()
  @IsEnum(MergeStrategy)
  merge_strategy?: MergeStrategy;

  @ApiPropertyOptional({ description: 'Refuse with 409 VERSION_CONFLICT unless the snapshot is at this version (also `If-Match`).' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  expected_version?: number;
}

export class ActionViewDto {
  @ApiProperty({ example: 'ATTACK' }) type: string;
  @ApiProperty({ type: Object }) params: Record<string, unknown>;
  @ApiProperty() reason: string;
}

export class DecisionResponseDto {
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty() version: number;
  @ApiProperty({ enum: ['reflex', 'rule', 'ml', 'llm'] }) decision_tier: string;
  @ApiProperty() processing_time_ms: number;
  @ApiProperty({ type: ActionViewDto }) action: ActionViewDto;
  @ApiProperty({ type: Object, description: 'microseconds per tier that ran' }) tier_timings_us: Record<string, number>;
}

export class PendingDecisionResponseDto {
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty() version: number;
  @ApiProperty({ format: 'uuid' }) task_id: string;
  @ApiProperty({ type: ActionViewDto }) fallback_action: ActionViewDto;
  @ApiProperty() processing_time_ms: number;
}
