import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_SOURCE_BYTES, NAME_PATTERN } from '../language/validator';

const NAME_DOC = '1-64 letters, digits, "_", "-" or single "."';

export class ExecuteMacroDto {
  @ApiProperty({ format: 'uuid', description: 'The session (bot) whose action queue receives the macro’s commands' })
  @IsString()
  @Length(1, 64)
  session_id: string;

  @ApiProperty({ example: 'farmRoute', description: NAME_DOC })
  @IsString()
  @Matches(NAME_PATTERN, { message: `macro_name must be ${NAME_DOC}` })
  macro_name: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    description: 'Initial variables: {"target": "Poring"} is $target in the macro (at most 32, one-line values)',
  })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown>;
}

export class PutMacroDto {
  @ApiProperty({
    description:
      'eventMacro blocks that define the macro (and any blocks to update with it), or just the commands of the macro. ' +
      'They replace the same-named blocks of the file holding the macro; a new macro goes to <name>.txt.',
    example: 'macro heal {\n    do is Red Potion\n    pause 1\n}',
  })
  @IsString()
  @MaxLength(MAX_SOURCE_BYTES)
  content: string;
}

export class ReloadMacroDto {
  @ApiPropertyOptional({ description: 'Re-read only the file of this macro; without it every file is re-read' })
  @IsOptional()
  @IsString()
  @Matches(NAME_PATTERN, { message: `macro_name must be ${NAME_DOC}` })
  macro_name?: string;
}

export class MacroQueryDto {
  @ApiPropertyOptional({ enum: ['macro', 'automacro'], default: 'macro' })
  @IsOptional()
  @IsIn(['macro', 'automacro'])
  kind?: 'macro' | 'automacro';

  @ApiPropertyOptional({ default: 10, description: 'Versions of macro_versions to include' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  history?: number;
}

export class ExecutionsQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 64) session_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(NAME_PATTERN) macro_name?: string;
  @ApiPropertyOptional({ default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}

export class RenderTemplateDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Template parameters (see the template’s TypeScript type)' })
  @IsObject()
  parameters: Record<string, unknown>;
}

export class ValidateMacroDto {
  @ApiProperty() @IsString() @MaxLength(MAX_SOURCE_BYTES) content: string;
}
