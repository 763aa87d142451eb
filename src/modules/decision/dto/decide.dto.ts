import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Min, ValidateNested } from 'class-validator';
import { GameStateDto } from '../../state';
import { PLUGIN_ACTIONS } from '../plugin-action';

/** The body the GodTierAI plugin in the field sends to POST /api/v1/decide. */
export class DecideDto {
  @ApiProperty({ type: GameStateDto })
  @ValidateNested()
  @Type(() => GameStateDto)
  game_state: GameStateDto;

  @ApiPropertyOptional({ description: 'The plugin sends an integer or a string' })
  @IsOptional()
  request_id?: string | number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  timestamp_ms?: number;
}

export class DecideResponseDto {
  @ApiProperty({ example: 'attack_monster', enum: PLUGIN_ACTIONS, description: 'An action type the field plugin executes (docs/field-plugin.md §4.3)' })
  action: string;
  @ApiProperty({ type: Object, example: { target_id: 11, target_name: 'Desert Wolf' }, description: 'What the plugin reads for that type (target_id, item, x/y, method, …)' })
  params: Record<string, unknown>;
  @ApiProperty() reason: string;
  @ApiProperty({ enum: ['reflex', 'rule', 'ml', 'llm'] }) tier_used: string;
  @ApiProperty() latency_ms: number;
  @ApiPropertyOptional() request_id?: string | number;
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty() state_version: number;
  @ApiPropertyOptional({ format: 'uuid' }) pending_task_id?: string;
}

/** The field plugin sends success, failed, partial and abandoned; the others come from other clients. */
const FEEDBACK_STATUSES = ['success', 'failure', 'failed', 'partial', 'abandoned', 'error', 'timeout', 'interrupted'];

export class ActionFeedbackDto {
  @ApiProperty({ example: 'attack_monster' }) @IsString() @Length(1, 64) action: string;
  @ApiProperty({ enum: FEEDBACK_STATUSES })
  @IsIn(FEEDBACK_STATUSES)
  status: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 512) reason?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 2048) message?: string;
  @ApiPropertyOptional({ description: 'Links the outcome to a session when known' }) @IsOptional() @IsString() @Length(1, 64) character_name?: string;
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() session_id?: string;
  @ApiPropertyOptional({ description: 'Supported by the field plugin, never sent by it' }) @IsOptional() @IsString() @Length(0, 128) plan_id?: string;
  @ApiPropertyOptional({ description: 'Supported by the field plugin, never sent by it' }) @IsOptional() @IsString() @Length(0, 128) action_id?: string;
}

export class ConfigReloadDto {
  @ApiPropertyOptional({ enum: ['rules', 'tables'], description: 'Absent: both' }) @IsOptional() @IsIn(['rules', 'tables']) type?: 'rules' | 'tables';
}
