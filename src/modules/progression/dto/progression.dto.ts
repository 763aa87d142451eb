import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { InvalidRequestError } from '../../../common/errors/app.error';
import type { SellRow } from '../progression.logic';
import { STATS, type Stat } from '../tables';

/*
 * The bodies of the field plugin's progression and inventory calls (docs/field-plugin.md §4.8-4.12),
 * read as it sends them: unknown fields ignored, every field optional, raw OpenKore numbers as
 * numbers or decimal strings. A known field of the wrong type is still a 400.
 */

type Obj = Record<string, unknown>;

function body(value: unknown): Obj {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidRequestError('Request body must be a JSON object');
  return value as Obj;
}

function bad(path: string, rule: string): never {
  throw new InvalidRequestError(`${path} ${rule}`, { fields: [{ field: path, errors: [`${path} ${rule}`] }] });
}

/** Present and not null. */
function given(o: Obj, key: string): unknown {
  const v = o[key];
  return v === null ? undefined : v;
}

function rawInt(v: unknown, path: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) bad(path, 'must be an integer (a number or its decimal string)');
  if (n < min || n > max) bad(path, `must be between ${min} and ${max}`);
  return n;
}

function optRawInt(o: Obj, key: string, path: string, min: number, max: number): number | undefined {
  const v = given(o, key);
  return v === undefined ? undefined : rawInt(v, `${path}${key}`, min, max);
}

function optText(o: Obj, key: string, path: string, max: number): string | undefined {
  const v = given(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max) bad(`${path}${key}`, `must be a string of at most ${max} characters`);
  return v;
}

/** A job as the plugin names it: a class name (any case) or the raw job id. */
function optJob(o: Obj, keys: readonly string[]): string | number | undefined {
  for (const key of keys) {
    const v = given(o, key);
    if (v === undefined) continue;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && v.length <= 64) return v;
    bad(key, 'must be a job name or a job id');
  }
  return undefined;
}

function list(o: Obj, key: string, max: number): unknown[] | undefined {
  const v = given(o, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) bad(key, 'must be an array');
  if (v.length > max) bad(key, `must contain no more than ${max} elements`);
  return v;
}

function element(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(path, 'must be an object');
  return v as Obj;
}

// ---------------------------------------------------------------- inventory/sell_junk

export interface SellJunkBody {
  rows: SellRow[];
  keepIds: Set<number>;
  keepNames: Set<string>;
}

@Injectable()
export class SellJunkBodyPipe implements PipeTransform<unknown, SellJunkBody> {
  transform(value: unknown): SellJunkBody {
    const o = body(value);
    const rows = (list(o, 'inventory', 500) ?? []).map((raw, index): SellRow => {
      const p = `inventory[${index}].`;
      const item = element(raw, `inventory[${index}]`);
      const type = given(item, 'type');
      let itemType: number | string | undefined;
      if (typeof type === 'string' && !/^-?\d{1,15}$/.test(type.trim())) {
        if (type.length > 32) bad(`${p}type`, 'must be an item type number or a label of at most 32 characters');
        itemType = type;
      } else if (type !== undefined) itemType = rawInt(type, `${p}type`, 0, 10_000);
      const equipped = given(item, 'equipped');
      if (equipped !== undefined && typeof equipped !== 'boolean') bad(`${p}equipped`, 'must be a boolean');
      return {
        index,
        id: optRawInt(item, 'id', p, 0, Number.MAX_SAFE_INTEGER),
        name: optText(item, 'name', p, 128),
        amount: optRawInt(item, 'amount', p, 0, 1_000_000),
        type: itemType,
        invIndex: optRawInt(item, 'invIndex', p, 0, 1_000_000),
        equipped: equipped as boolean | undefined,
      };
    });
    const keepIds = new Set<number>();
    const keepNames = new Set<string>();
    (list(o, 'keep', 500) ?? []).forEach((k, i) => {
      if (typeof k === 'string' && !/^\d{1,15}$/.test(k)) {
        if (k.length > 128) bad(`keep[${i}]`, 'must be an item id or name');
        keepNames.add(k.toLowerCase());
      } else keepIds.add(rawInt(k, `keep[${i}]`, 0, Number.MAX_SAFE_INTEGER));
    });
    return { rows, keepIds, keepNames };
  }
}

export class SellJunkItemDto {
  @ApiPropertyOptional({ example: 909, description: 'Item id (nameID); number or decimal string' }) id?: number;
  @ApiPropertyOptional({ example: 'Jellopy' }) name?: string;
  @ApiPropertyOptional({ example: 12, description: 'Number or decimal string; 1 when absent' }) amount?: number;
  @ApiPropertyOptional({ example: 3, description: 'Raw OpenKore item type (0 healing … 5 weapon) or a label' }) type?: number;
  @ApiPropertyOptional({ example: 4, description: 'Index for OpenKore’s sell command' }) invIndex?: number;
  @ApiPropertyOptional({ description: 'Not sent by the field plugin; true keeps the item, false lets worn types be sold' }) equipped?: boolean;
}

export class SellJunkRequestDto {
  @ApiPropertyOptional({ type: [SellJunkItemDto], maxItems: 500 }) inventory?: SellJunkItemDto[];
  @ApiPropertyOptional({ type: [String], description: 'Item ids or names never to sell, beside the table’s keep list' }) keep?: (number | string)[];
}

export class SellJunkResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty({ type: [String], example: ['sell 4 12', 'sell 7 3'], description: 'OpenKore console commands, run verbatim; always present (empty: nothing to sell)' })
  sell_commands: string[];
  @ApiProperty({ example: 78 }) estimated_zeny: number;
  @ApiProperty({ description: '[{invIndex, id, name, amount, sell_price, zeny}]' }) items_sold: unknown[];
  @ApiProperty({ description: '[{invIndex?, id?, name?, reason}]: what was kept and why' }) kept: unknown[];
}

// ---------------------------------------------------------------- progression/stats/on_level_up

export interface StatsBody {
  level?: number;
  stats?: Partial<Record<Stat, number>>;
  unusedPoints?: number;
  job?: string | number;
}

@Injectable()
export class StatsBodyPipe implements PipeTransform<unknown, StatsBody> {
  transform(value: unknown): StatsBody {
    const o = body(value);
    const out: StatsBody = {
      level: optRawInt(o, 'current_level', '', 0, 10_000),
      unusedPoints: optRawInt(o, 'unused_points', '', 0, 100_000),
      job: optJob(o, ['job_class', 'job', 'character_class']),
    };
    const raw = given(o, 'current_stats');
    if (raw !== undefined) {
      const s = element(raw, 'current_stats');
      out.stats = {};
      for (const stat of STATS) {
        const v = optRawInt(s, stat, 'current_stats.', 0, 10_000);
        if (v !== undefined) out.stats[stat] = v;
      }
    }
    return out;
  }
}

export class CurrentStatsDto {
  @ApiPropertyOptional() str?: number;
  @ApiPropertyOptional() agi?: number;
  @ApiPropertyOptional() vit?: number;
  @ApiPropertyOptional() int?: number;
  @ApiPropertyOptional() dex?: number;
  @ApiPropertyOptional() luk?: number;
}

export class StatsLevelUpRequestDto {
  @ApiPropertyOptional({ example: 42 }) current_level?: number;
  @ApiPropertyOptional({ type: CurrentStatsDto }) current_stats?: CurrentStatsDto;
  @ApiPropertyOptional({ example: 6, description: 'Sent by the periodic check' }) unused_points?: number;
  @ApiPropertyOptional({ example: 'Knight', description: 'Not sent by the field plugin: the build is then chosen from the current stats' }) job_class?: string | number;
}

export class StatsConfigDto {
  @ApiProperty({ example: 'agi 30, str 30, dex 15, agi 60', description: 'For OpenKore’s raiseStat (empty: no build known)' }) statsAddAuto_list: string;
}

export class StatsLevelUpResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty({ type: StatsConfigDto }) config: StatsConfigDto;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'Swordsman' }) job_class: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) build: string | null;
  @ApiProperty({ enum: ['job', 'stats', 'default', 'none'] }) matched_by: string;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'agi 60', description: 'The first step not reached yet' }) next_step: string | null;
}

// ---------------------------------------------------------------- progression/skills/on_job_level_up

export interface SkillsBody {
  jobLevel?: number;
  job?: string | number;
  skills?: Record<string, number>;
  unusedPoints?: number;
}

@Injectable()
export class SkillsBodyPipe implements PipeTransform<unknown, SkillsBody> {
  transform(value: unknown): SkillsBody {
    const o = body(value);
    const out: SkillsBody = {
      jobLevel: optRawInt(o, 'current_job_level', '', 0, 10_000),
      unusedPoints: optRawInt(o, 'unused_points', '', 0, 100_000),
      // The hook sends `job` (lower-cased), the periodic check `job_class`.
      job: optJob(o, ['job_class', 'job']),
    };
    const raw = given(o, 'current_skills');
    if (raw !== undefined) {
      const s = element(raw, 'current_skills');
      const keys = Object.keys(s);
      if (keys.length > 1000) bad('current_skills', 'must have no more than 1000 skills');
      out.skills = {};
      for (const handle of keys) {
        if (handle.length > 64) bad('current_skills', 'skill handles are at most 64 characters');
        const v = optRawInt(s, handle, 'current_skills.', 0, 100);
        if (v !== undefined) out.skills[handle] = v;
      }
    }
    return out;
  }
}

export class SkillsJobLevelUpRequestDto {
  @ApiPropertyOptional({ example: 17 }) current_job_level?: number;
  @ApiPropertyOptional({ example: 'swordsman', description: 'The hook’s form (lower case)' }) job?: string;
  @ApiPropertyOptional({ example: 'Swordsman', description: 'The periodic check’s form; a raw job id is read too' }) job_class?: string | number;
  @ApiPropertyOptional({ example: { NV_BASIC: 9, SM_BASH: 3 }, description: 'Skill handle → level' }) current_skills?: Record<string, number>;
  @ApiPropertyOptional() unused_points?: number;
}

export class SkillsConfigDto {
  @ApiProperty({ example: 'NV_BASIC 9, SM_BASH 5, SM_PROVOKE 5', description: 'For OpenKore’s raiseSkill, by skill handle (empty: no plan known)' }) skillsAddAuto_list: string;
}

export class SkillsJobLevelUpResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty({ type: SkillsConfigDto }) config: SkillsConfigDto;
  @ApiPropertyOptional({ nullable: true, type: String }) job_class: string | null;
  @ApiProperty({ enum: ['job', 'skills', 'none'] }) matched_by: string;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'SM_BASH 5', description: 'The first step not learned yet' }) next_step: string | null;
}

// ---------------------------------------------------------------- progression/equipment/on_map_change

export interface MapChangeBody {
  newMap?: string;
  enemies: number;
}

@Injectable()
export class MapChangeBodyPipe implements PipeTransform<unknown, MapChangeBody> {
  transform(value: unknown): MapChangeBody {
    const o = body(value);
    const enemies = list(o, 'enemies', 100) ?? [];
    enemies.forEach((e, i) => element(e, `enemies[${i}]`));
    return { newMap: optText(o, 'new_map', '', 64), enemies: enemies.length };
  }
}

export class MapChangeRequestDto {
  @ApiPropertyOptional({ example: 'pay_dun00' }) new_map?: string;
  @ApiPropertyOptional({ description: '[{name, element, race, size}]', example: [{ name: 'Zombie', element: 'neutral', race: 'unknown', size: 'medium' }] }) enemies?: unknown[];
}

export class MapChangeResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty({ type: [String], description: 'Console commands (the field plugin only logs them); empty: keep the equipment' }) commands: string[];
  @ApiPropertyOptional({ nullable: true, type: String }) new_map: string | null;
  @ApiProperty() reason: string;
}

// ---------------------------------------------------------------- self_heal/fix_plugin_config

export interface FixConfigBody {
  pluginName?: string;
}

@Injectable()
export class FixConfigBodyPipe implements PipeTransform<unknown, FixConfigBody> {
  transform(value: unknown): FixConfigBody {
    const o = body(value);
    optRawInt(o, 'character_level', '', 0, 10_000);
    optText(o, 'character_class', '', 64);
    return { pluginName: optText(o, 'plugin_name', '', 64) };
  }
}

export class FixConfigRequestDto {
  @ApiPropertyOptional({ example: 'teleToDest' }) plugin_name?: string;
  @ApiPropertyOptional() character_level?: number;
  @ApiPropertyOptional() character_class?: string;
}

export class FixConfigResponseDto {
  @ApiProperty({ example: false }) success: boolean;
  @ApiProperty() error: string;
  @ApiPropertyOptional({ nullable: true, type: String }) plugin_name: string | null;
}
