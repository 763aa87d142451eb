import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { InvalidRequestError } from '../../../common/errors/app.error';
import type { PartialGameState } from '../../state';
import { parseGameStatePatch } from '../../state';
import { PDCA_PHASES, PLAN_TYPES } from '../pdca.types';

const STATUSES = ['running', 'completed', 'failed', 'stopped'] as const;
const MAX_REASON = 256;

// ---------------------------------------------------------------- trigger

/** Documents POST /pdca/trigger; TriggerBodyPipe validates it (the body may be absent). */
export class TriggerPdcaDto {
  @ApiPropertyOptional({ maxLength: MAX_REASON, default: 'manual', description: 'Why the cycle is triggered (recorded with it)' })
  reason?: string;
}

export interface TriggerBody {
  reason: string;
}

@Injectable()
export class TriggerBodyPipe implements PipeTransform<unknown, TriggerBody> {
  transform(value: unknown): TriggerBody {
    if (value === undefined || value === null) return { reason: 'manual' };
    if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidRequestError('Request body must be a JSON object');
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) if (key !== 'reason') throw new InvalidRequestError(`property ${key} should not exist`);
    if (o.reason === undefined) return { reason: 'manual' };
    if (typeof o.reason !== 'string' || o.reason.trim() === '' || o.reason.length > MAX_REASON || /[\u0000-\u001f]/.test(o.reason)) {
      throw new InvalidRequestError(`reason must be a one-line string of 1-${MAX_REASON} characters`);
    }
    return { reason: o.reason.trim() };
  }
}

export class TriggerResponseDto {
  @ApiProperty() cycle_id: number;
  @ApiProperty({ example: 'pdca-12', description: 'Label the bots log outcomes with (POST /metrics/log strategy_id); CHECK reads them' })
  strategy_id: string;
  @ApiProperty({ example: 'started' }) status: string;
}

// ---------------------------------------------------------------- queries

export class CyclesQueryDto {
  @ApiPropertyOptional({ default: 20, minimum: 1, maximum: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
  @ApiPropertyOptional({ description: 'Cursor: only cycles with a smaller id (next_before of the previous page)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before?: number;
  @ApiPropertyOptional({ enum: STATUSES }) @IsOptional() @IsIn(STATUSES) status?: (typeof STATUSES)[number];
}

export class PhaseEntryDto {
  @ApiProperty({ enum: PDCA_PHASES }) phase: string;
  @ApiProperty() at: string;
}

export class CycleViewDto {
  @ApiProperty() cycle_id: number;
  @ApiProperty({ enum: STATUSES }) status: string;
  @ApiProperty({ example: { type: 'manual', reason: 'manual' } }) trigger: { type: string; reason: string };
  @ApiProperty({ enum: PDCA_PHASES }) current_phase: string;
  @ApiProperty({ type: [PhaseEntryDto] }) phases: PhaseEntryDto[];
  @ApiPropertyOptional({ type: Object, nullable: true, description: 'id, plan_type, goal, rationale, planner, fallback_reason?, macros [{template, params}], targets' })
  strategy: unknown;
  @ApiPropertyOptional({ type: Object, nullable: true, description: 'file, status, macros, automacros, versions, rolled_back?, adjusted?' })
  deployment: unknown;
  @ApiPropertyOptional({ type: Object, nullable: true, description: 'verdict, success_rate, samples, avg_processing_ms, metrics, act {detail, adjustments?}' })
  outcome: unknown;
  @ApiPropertyOptional({ enum: ['keep', 'adjust', 'rollback'], nullable: true }) decision: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) error: string | null;
  @ApiProperty() owner: string;
  @ApiProperty() local: boolean;
  @ApiProperty() stop_requested: boolean;
  @ApiPropertyOptional({ nullable: true, type: String }) execution_ends_at: string | null;
  @ApiProperty() started_at: string;
  @ApiPropertyOptional({ nullable: true, type: String }) finished_at: string | null;
  @ApiProperty() duration_ms: number;
}

export class PdcaStatusDto {
  @ApiProperty() cycle_running: boolean;
  @ApiProperty({ enum: PDCA_PHASES }) current_phase: string;
  @ApiProperty({ description: 'Cycles finished by any engine process on the database' }) cycle_count: number;
  @ApiPropertyOptional({ type: CycleViewDto, nullable: true }) current_cycle: CycleViewDto | null;
  @ApiPropertyOptional({ type: CycleViewDto, nullable: true }) last_cycle: CycleViewDto | null;
  @ApiProperty({ type: Object }) scheduler: unknown;
  @ApiProperty() planner: string;
  @ApiProperty() owner: string;
}

export class CyclesPageDto {
  @ApiProperty({ type: [CycleViewDto] }) cycles: CycleViewDto[];
  @ApiPropertyOptional({ nullable: true, type: Number }) next_before: number | null;
}

export class StopResultDto {
  @ApiPropertyOptional({ nullable: true, type: Number }) cycle_id: number | null;
  @ApiProperty() stop_requested: boolean;
  @ApiPropertyOptional({ enum: ['stopped', 'completed', 'failed', 'stopping'], nullable: true }) status: string | null;
}

// ---------------------------------------------------------------- compatibility: POST /strategy/plan

/** Documents the plugin's body; StrategyPlanBodyPipe reads it leniently. */
export class StrategyPlanRequestDto {
  @ApiPropertyOptional({ type: Object, description: 'A game state like the decide route’s; every field optional, unknown fields ignored' })
  game_state?: unknown;
  @ApiPropertyOptional({ description: 'Plan for this character’s latest state when no game_state is sent' }) character_name?: string;
  @ApiPropertyOptional({ maxLength: MAX_REASON }) goal?: string;
  @ApiPropertyOptional({ description: 'Echoed back' }) request_id?: string | number;
  @ApiPropertyOptional({
    description: 'The field plugin’s form: {name, level, job_level, zeny, base_exp…, job_class: raw job id or "Novice"}; the name is used as character_name',
    example: { name: 'Aster', level: 33, job_class: 4 },
  })
  character?: unknown;
}

export interface StrategyPlanBody {
  game_state?: PartialGameState;
  character_name?: string;
  goal?: string;
  request_id?: string | number;
  /** The plugin's `character.job_class`: a raw job id or a job name. */
  job_class?: string | number;
}

/**
 * The plugin's strategy request, read leniently: unknown fields are ignored, every field is
 * optional; what is used is validated (the game state with the same rules as everywhere).
 */
@Injectable()
export class StrategyPlanBodyPipe implements PipeTransform<unknown, StrategyPlanBody> {
  transform(value: unknown): StrategyPlanBody {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidRequestError('Request body must be a JSON object');
    const o = value as Record<string, unknown>;
    const out: StrategyPlanBody = {};
    const state = o.game_state ?? o.state;
    if (state !== undefined && state !== null) out.game_state = parseGameStatePatch(state, 'game_state');
    const character = o.character !== null && typeof o.character === 'object' && !Array.isArray(o.character) ? (o.character as Record<string, unknown>) : undefined;
    const name = o.character_name ?? (typeof o.character === 'string' ? o.character : character?.name);
    if (name !== undefined && name !== null) {
      if (typeof name !== 'string' || name.length < 1 || name.length > 64) throw new InvalidRequestError('character_name must be a string of 1-64 characters');
      out.character_name = name;
    }
    const job = character?.job_class;
    if (job !== undefined && job !== null) {
      if (!((typeof job === 'number' && Number.isSafeInteger(job) && job >= 0) || (typeof job === 'string' && job.length <= 64))) {
        throw new InvalidRequestError('character.job_class must be a job id or a job name of up to 64 characters');
      }
      out.job_class = job;
    }
    const goal = o.goal ?? o.objective;
    if (goal !== undefined && goal !== null) {
      if (typeof goal !== 'string' || goal.length > MAX_REASON) throw new InvalidRequestError(`goal must be a string of at most ${MAX_REASON} characters`);
      if (goal.trim()) out.goal = goal.trim();
    }
    const rid = o.request_id;
    if (rid !== undefined && rid !== null) {
      if (!((typeof rid === 'string' && rid.length <= 128) || (typeof rid === 'number' && Number.isSafeInteger(rid)))) {
        throw new InvalidRequestError('request_id must be an integer or a string of up to 128 characters');
      }
      out.request_id = rid;
    }
    return out;
  }
}

export class StrategyPlanResponseDto {
  @ApiProperty({ enum: PLAN_TYPES }) plan_type: string;
  @ApiProperty({ description: 'id (strategy_id), goal, rationale, macros [{template, name, params}], targets' }) plan: unknown;
  @ApiProperty({ example: 'plan-1a2b3c4d' }) strategy_id: string;
  @ApiProperty({ example: 'built-in' }) planner: string;
  @ApiPropertyOptional({ description: 'Why the LLM planner was not used (it failed)' }) fallback_reason?: string;
  @ApiProperty() latency_ms: number;
  @ApiPropertyOptional() request_id?: string | number;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'Acolyte', description: 'The job the request named (character.job_class), by name' }) job_class?: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number, example: 4 }) job_id?: number | null;
  @ApiProperty({ description: 'The improvement cycle: {cycle_running, current_phase, strategy_id}' }) pdca: unknown;
}
