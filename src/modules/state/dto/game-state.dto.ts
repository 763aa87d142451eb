import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import type { Character, EquipmentItem, GameState, Guild, InventoryItem, Monster, NearbyPlayer, PartyMember, Position, Skill } from '../game-state';
import { partyList, rawNumber } from '../game-state.validator';

/**
 * The game state a bot sends each tick — the shape the OpenKore plugin in the field already
 * sends (`game_state` of its decide body, docs/field-plugin.md §4.3): `max_hp`, JSON booleans,
 * skills by handle without id, nearby players without id, `party_members` as `{}`, raw
 * OpenKore values (item type, equip slot, ids, amounts) as numbers or decimal strings.
 * The hot path validates the same rules by hand (game-state.validator.ts; a property test
 * keeps the two in step).
 */

/** A raw OpenKore number: a JSON number or the decimal string Perl may write instead. */
const Raw = () => Transform(({ value }: { value: unknown }) => rawNumber(value));

/** An integer in [min, max] or a string of at most maxLength characters. */
function IsIntOrText(min: number, max: number, maxLength: number) {
  return ValidateBy({
    name: 'isIntOrText',
    validator: {
      validate: (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) || (typeof v === 'string' && v.length <= maxLength),
      defaultMessage: (args) => `${args?.property} must be an integer in [${min}, ${max}] or a string of at most ${maxLength} characters`,
    },
  });
}

/** Text a client may send as a number: kept as text. */
const AsText = () => Transform(({ value }: { value: unknown }) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value));

export class PositionDto implements Position {
  @ApiProperty({ example: 'prt_fild08' }) @IsString() @Length(1, 64) map: string;
  @ApiProperty() @IsInt() @Min(0) @Max(100_000) x: number;
  @ApiProperty() @IsInt() @Min(0) @Max(100_000) y: number;
}

export class EquipmentItemDto implements EquipmentItem {
  @ApiPropertyOptional({ oneOf: [{ type: 'integer' }, { type: 'string' }], example: 2, description: 'Raw equip-slot bitmask, or "unknown"' })
  @IsOptional()
  @Raw()
  @IsIntOrText(0, 2 ** 31, 32)
  slot?: number | string;
  @ApiPropertyOptional({ example: 'Knife' }) @IsOptional() @IsString() @Length(0, 128) name?: string;
  @ApiPropertyOptional({ example: 1201 }) @IsOptional() @Raw() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id?: number;
}

export class GuildDto implements Guild {
  @ApiPropertyOptional({ example: '' }) @IsOptional() @AsText() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional({ example: '' }) @IsOptional() @AsText() @IsString() @Length(0, 64) id?: string;
  @ApiPropertyOptional({ example: '' }) @IsOptional() @AsText() @IsString() @Length(0, 64) position?: string;
}

function toGuild(value: unknown): unknown {
  if (typeof value === 'string') return plainToInstance(GuildDto, { name: value });
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? plainToInstance(GuildDto, value) : value;
}

export class CharacterDto implements Character {
  @ApiProperty({ example: 'MyKnight' }) @IsString() @Length(1, 64) name: string;
  @ApiProperty() @IsInt() @Min(1) @Max(1000) level: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(1000) job_level?: number;
  @ApiProperty() @IsInt() @Min(0) @Max(100_000_000) hp: number;
  @ApiProperty() @IsInt() @Min(1) @Max(100_000_000) max_hp: number;
  @ApiProperty() @IsInt() @Min(0) @Max(100_000_000) sp: number;
  @ApiProperty() @IsInt() @Min(0) @Max(100_000_000) max_sp: number;
  @ApiProperty({ type: PositionDto }) @IsObject() @ValidateNested() @Type(() => PositionDto) position: PositionDto;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) weight?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) max_weight?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) zeny?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) job_class?: string;
  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayMaxSize(64) @IsString({ each: true }) @Length(0, 256, { each: true }) status_effects?: string[];
  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayMaxSize(64) @IsString({ each: true }) @Length(0, 256, { each: true }) buffs?: string[];
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_sitting?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_dead?: boolean;
  @ApiPropertyOptional({ type: () => [EquipmentItemDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => EquipmentItemDto)
  equipment?: EquipmentItemDto[];
  @ApiPropertyOptional({ type: () => GuildDto, description: '{name, id, position} ("" without a guild); a bare string is read as the name' })
  @IsOptional()
  // Builds the guild itself: class-transformer's @Type does not follow an object made from a string.
  @Transform(({ obj }: { obj: Record<string, unknown> }) => toGuild(obj.guild))
  @IsObject()
  @ValidateNested()
  guild?: GuildDto;
}

export class MonsterDto implements Monster {
  @ApiProperty({ description: 'OpenKore binID: what attack_monster.target_id echoes' }) @Raw() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(1000) level?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) max_hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(0) @Max(100_000) distance?: number;
  @ApiPropertyOptional() @IsOptional() @IsObject() @ValidateNested() @Type(() => PositionDto) position?: PositionDto;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_aggressive?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_attacking_me?: boolean;
}

export class SkillDto implements Skill {
  @ApiPropertyOptional({ description: 'Numeric skill id (the field plugin sends none)' }) @IsOptional() @Raw() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id?: number;
  @ApiPropertyOptional({ example: 'SM_BASH', description: 'OpenKore skill handle' }) @IsOptional() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional() @IsOptional() @Raw() @IsInt() @Min(0) @Max(100) level?: number;
  @ApiPropertyOptional() @IsOptional() @Raw() @IsInt() @Min(0) @Max(100_000) sp_cost?: number;
}

export class InventoryItemDto implements InventoryItem {
  @ApiProperty({ description: 'Item id (nameID)' }) @Raw() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 128) name?: string;
  @ApiPropertyOptional() @IsOptional() @Raw() @IsInt() @Min(0) @Max(1_000_000) amount?: number;
  @ApiPropertyOptional({ oneOf: [{ type: 'integer' }, { type: 'string' }], description: 'Raw OpenKore item type (0 healing … 5 weapon, 6 card), or a label: "misc", "usable", …' })
  @IsOptional()
  @Raw()
  @IsIntOrText(0, 10_000, 32)
  type?: number | string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() equipped?: boolean;
  @ApiPropertyOptional({ description: 'Inventory index as the client’s sell/use commands take it' }) @IsOptional() @Raw() @IsInt() @Min(0) @Max(1_000_000) invIndex?: number;
}

export class NearbyPlayerDto implements NearbyPlayer {
  @ApiPropertyOptional({ description: 'Game id, when the client knows it (the field plugin sends names only)' })
  @IsOptional()
  @Raw()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  id?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(1000) level?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(0) @Max(100_000) distance?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) guild?: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_party_member?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) job_class?: string;
}

export class PartyMemberDto implements PartyMember {
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) id?: number;
  @ApiProperty() @IsString() @Length(1, 64) name: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) max_hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() online?: boolean;
}

function partyMembers(value: unknown): unknown {
  const list = value !== null && typeof value === 'object' && !Array.isArray(value) ? partyList(value as Record<string, unknown>) : value;
  if (!Array.isArray(list)) return list;
  return list.map((m: unknown) => (m !== null && typeof m === 'object' && !Array.isArray(m) ? plainToInstance(PartyMemberDto, m) : m));
}

export class GameStateDto implements GameState {
  @ApiProperty({ type: CharacterDto }) @IsObject() @ValidateNested() @Type(() => CharacterDto) character: CharacterDto;
  @ApiPropertyOptional({ type: [SkillDto] }) @IsOptional() @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => SkillDto) skills?: SkillDto[];
  @ApiPropertyOptional({ type: [MonsterDto] }) @IsOptional() @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => MonsterDto) monsters?: MonsterDto[];
  @ApiPropertyOptional({ type: [InventoryItemDto] }) @IsOptional() @IsArray() @ArrayMaxSize(512) @ValidateNested({ each: true }) @Type(() => InventoryItemDto) inventory?: InventoryItemDto[];
  @ApiPropertyOptional({ type: [NearbyPlayerDto] }) @IsOptional() @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => NearbyPlayerDto) nearby_players?: NearbyPlayerDto[];
  @ApiPropertyOptional({ type: [PartyMemberDto], description: 'A list, or an object keyed by name (the field plugin sends {})' })
  @IsOptional()
  // Builds the members itself: class-transformer's @Type mangles an array made from an object.
  @Transform(({ obj }: { obj: Record<string, unknown> }) => partyMembers(obj.party_members))
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  party_members?: PartyMemberDto[];
  @ApiPropertyOptional({ description: 'Client clock, ms since epoch' }) @IsOptional() @IsInt() @Min(0) timestamp_ms?: number;
}

/** True when A and B have the same field names. */
type SameFields<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never] ? true : false;

// Compile-time: every DTO declares exactly the fields of its type in game-state.ts (`implements`
// checks their types; this, that none is missing or extra). A field added on one side only fails here.
const _dtoFieldsMatchTypes: [
  SameFields<PositionDto, Position>,
  SameFields<EquipmentItemDto, EquipmentItem>,
  SameFields<GuildDto, Guild>,
  SameFields<CharacterDto, Character>,
  SameFields<MonsterDto, Monster>,
  SameFields<SkillDto, Skill>,
  SameFields<InventoryItemDto, InventoryItem>,
  SameFields<NearbyPlayerDto, NearbyPlayer>,
  SameFields<PartyMemberDto, PartyMember>,
  SameFields<GameStateDto, GameState>,
] = [true, true, true, true, true, true, true, true, true, true];
