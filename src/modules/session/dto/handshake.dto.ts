import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class HandshakeDto {
  @ApiProperty({ example: 'openkore', maxLength: 64 })
  @IsString()
  @Length(1, 64)
  client: string;

  @ApiProperty({ example: '3.2.1', maxLength: 64 })
  @IsString()
  @Length(1, 64)
  client_version: string;

  @ApiPropertyOptional({ example: 4242, description: 'Process id of the bot' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  pid?: number;

  @ApiPropertyOptional({ type: [String], example: ['decide', 'macro'], maxItems: 64 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @Length(1, 64, { each: true })
  capabilities?: string[];

  @ApiPropertyOptional({ example: 'MyKnight', description: 'Character name, when known' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(/^[^\u0000-\u001f]+$/, { message: 'character_name must not contain control characters' })
  character_name?: string;
}

export class ServerInfoDto {
  @ApiProperty() name: string;
  @ApiProperty() version: string;
}

export class HandshakeResponseDto {
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty({ type: ServerInfoDto }) server: ServerInfoDto;
  @ApiProperty({ type: [String] }) capabilities: string[];
  @ApiProperty() session_ttl_ms: number;
  @ApiProperty() created_at: string;
}

export class SessionViewDto {
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty() client: string;
  @ApiProperty() client_version: string;
  @ApiProperty({ nullable: true, type: Number }) pid: number | null;
  @ApiProperty({ type: [String] }) capabilities: string[];
  @ApiProperty({ nullable: true, type: String }) character_name: string | null;
  @ApiProperty() status: string;
  @ApiProperty() request_count: number;
  @ApiProperty() created_at: string;
  @ApiProperty() last_seen_at: string;
}
