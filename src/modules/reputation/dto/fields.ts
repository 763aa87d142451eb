import { applyDecorators } from '@nestjs/common';
import { ApiProperty, type ApiPropertyOptions } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';

export const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]+$/;

/**
 * A required 1..64 character name without control characters (player_name, character_name).
 * Same as stacking `@ApiProperty @IsString @Length(1, 64) @Matches(NO_CONTROL_CHARS)`; the
 * decorators are listed bottom-up so class-validator registers them in the same order.
 */
export function NameField(field: string, api: ApiPropertyOptions): PropertyDecorator {
  return applyDecorators(
    Matches(NO_CONTROL_CHARS, { message: `${field} must not contain control characters` }),
    Length(1, 64),
    IsString(),
    ApiProperty({ maxLength: 64, ...api }),
  );
}
