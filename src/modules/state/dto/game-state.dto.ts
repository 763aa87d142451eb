import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
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
  ValidateNested,
} from 'class-validator';

/**
 * The game state a bot sends each tick — the shape the OpenKore plugin in the field already
 * sends (`game_state` of its decide body): integer ids, `max_hp`, JSON booleans.
 */
export class PositionDto {
  @ApiProperty({ example: 'prt_fild08' }) @IsString() @Length(1, 64) map: string;
  @ApiProperty() @IsInt() @Min(0) @Max(100_000) x: number;
  @ApiProperty() @IsInt() @Min(0) @Max(100_000) y: number;
}

export class CharacterDto {
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
}

export class MonsterDto {
  @ApiProperty() @IsInt() @Min(0) id: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(1000) level?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) max_hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(0) @Max(100_000) distance?: number;
  @ApiPropertyOptional() @IsOptional() @IsObject() @ValidateNested() @Type(() => PositionDto) position?: PositionDto;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_aggressive?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_attacking_me?: boolean;
}

export class SkillDto {
  @ApiProperty() @IsInt() @Min(0) id: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100) level?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000) sp_cost?: number;
}

export class InventoryItemDto {
  @ApiProperty() @IsInt() @Min(0) id: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(1_000_000) amount?: number;
  @ApiPropertyOptional({ description: 'usable, equip, etc, card, …' }) @IsOptional() @IsString() @Length(0, 32) type?: string;
}

export class NearbyPlayerDto {
  @ApiProperty() @IsInt() @Min(0) id: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(0, 64) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(1000) level?: number;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(0) @Max(100_000) distance?: number;
}

export class PartyMemberDto {
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) id?: number;
  @ApiProperty() @IsString() @Length(1, 64) name: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000_000) max_hp?: number;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() online?: boolean;
}

export class GameStateDto {
  @ApiProperty({ type: CharacterDto }) @IsObject() @ValidateNested() @Type(() => CharacterDto) character: CharacterDto;
  @ApiPropertyOptional({ type: [SkillDto] }) @IsOptional() @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => SkillDto) skills?: SkillDto[];
  @ApiPropertyOptional({ type: [MonsterDto] }) @IsOptional() @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => MonsterDto) monsters?: MonsterDto[];
  @ApiPropertyOptional({ type: [InventoryItemDto] }) @IsOptional() @IsArray() @ArrayMaxSize(512) @ValidateNested({ each: true }) @Type(() => InventoryItemDto) inventory?: InventoryItemDto[];
  @ApiPropertyOptional({ type: [NearbyPlayerDto] }) @IsOptional() @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => NearbyPlayerDto) nearby_players?: NearbyPlayerDto[];
  @ApiPropertyOptional({ type: [PartyMemberDto] }) @IsOptional() @IsArray() @ArrayMaxSize(64) @ValidateNested({ each: true }) @Type(() => PartyMemberDto) party_members?: PartyMemberDto[];
  @ApiPropertyOptional({ description: 'Client clock, ms since epoch' }) @IsOptional() @IsInt() @Min(0) timestamp_ms?: number;
}
