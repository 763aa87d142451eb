import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_PLAYER_ID } from '../player-id';
import { NO_CONTROL_CHARS, NameField } from './fields';

/** Perl may send a number as a string ("99"): accept decimal strings for the numeric fields. */
const lenientInt = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value));

export class SocialChatDto {
  @NameField('character_name', { example: 'MyKnight', description: 'Our character (the plugin’s session key)' })
  character_name: string;

  @NameField('player_name', { example: 'SomePriest' })
  player_name: string;

  @ApiProperty({ example: 'hi MyKnight, what level are you?', maxLength: 1024 })
  @IsString()
  @MaxLength(1024)
  message: string;

  @ApiPropertyOptional({ example: 'whisper', description: 'whisper | public | party | guild', nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  message_type?: string | null;

  @ApiPropertyOptional({ example: 87, nullable: true })
  @IsOptional()
  @lenientInt()
  @IsInt()
  @Min(0)
  @Max(10_000)
  my_level?: number | null;

  @ApiPropertyOptional({ example: 'Knight', maxLength: 64, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(NO_CONTROL_CHARS, { message: 'my_job must not contain control characters' })
  my_job?: string | null;

  @ApiPropertyOptional({ example: 150001, description: 'The game id of the other player, when the plugin knows it' })
  @IsOptional()
  @lenientInt()
  @IsInt()
  @Min(0)
  @Max(MAX_PLAYER_ID)
  player_id?: number | null;
}

export class SocialPartyInviteDto {
  @NameField('character_name', { example: 'MyKnight' })
  character_name: string;

  @NameField('player_name', { example: 'SomePriest' })
  player_name: string;

  @ApiPropertyOptional({ example: 150001 })
  @IsOptional()
  @lenientInt()
  @IsInt()
  @Min(0)
  @Max(MAX_PLAYER_ID)
  player_id?: number | null;

  @ApiPropertyOptional({ example: 87, nullable: true, description: 'Sent by the plugin; not used by the decision' })
  @IsOptional()
  @lenientInt()
  @IsInt()
  @Min(0)
  @Max(10_000)
  my_level?: number | null;
}

export class SocialActionParamsDto {
  @ApiPropertyOptional({ example: 'SomePriest', description: 'Whom to answer (chat_response)' }) target?: string;
  @ApiPropertyOptional({ example: "I'm level 87." }) message?: string;
  @ApiPropertyOptional({ enum: ['pm', 'public', 'party'], description: 'Channel of the reply' }) message_type?: string;
}

/**
 * Flat compatibility shape. Plugin builds in the field read it differently (the action as a
 * string with `params`, or `type` with `params` / `parameters`), so all of them are present.
 */
export class SocialActionDto {
  @ApiProperty({ enum: ['chat_response', 'none', 'accept_party', 'decline_party'] }) action: string;
  @ApiProperty({ enum: ['chat_response', 'none', 'accept_party', 'decline_party'], description: 'Same as action' }) type: string;
  @ApiProperty({ type: SocialActionParamsDto }) params: SocialActionParamsDto;
  @ApiProperty({ type: SocialActionParamsDto, description: 'Same as params' }) parameters: SocialActionParamsDto;
  @ApiProperty({ example: 'asked about my level' }) reason: string;
  @ApiProperty({ example: 'level', description: 'The rule that decided' }) rule: string;
  @ApiProperty({ example: 150001 }) player_id: number;
  @ApiProperty({ example: 'Neutral' }) reputation_tier: string;
  @ApiProperty({ example: 0 }) reputation_score: number;
}
