import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsNotEmptyObject, IsNumber, IsObject, IsOptional, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { DEFAULT_MEMORY_TYPE, DEFAULT_TOP_K, MAX_BATCH, MAX_TOP_K, MEMORY_TYPES, type MemoryType } from '../memory.constants';
import type { JsonValue } from '../embedding/embedding-provider';
import type { JsonObject } from '../memory.service';

const EVENT_EXAMPLE = {
  type: 'monster_kill',
  location: { map: 'prt_fild08', x: 152, y: 201 },
  actors: ['Poring'],
  outcome: 'victory',
  situation: 'killed a poring at full hp, dropped a jellopy',
};

const EVENT_DESCRIPTION =
  'Any JSON object describing what happened (type, location, actors, outcome, situation text, …); ' +
  'its canonical JSON (sorted keys) may be at most MEMORY_MAX_EVENT_BYTES (16 KiB by default). ' +
  'Identifiers and clock fields (id, timestamp, …) do not count towards similarity.';

export class MemoryItemDto {
  @ApiProperty({ type: Object, example: EVENT_EXAMPLE, description: EVENT_DESCRIPTION })
  @IsObject()
  @IsNotEmptyObject()
  event: JsonObject;

  @ApiProperty({ minimum: 0, maximum: 1, example: 0.7, description: 'How much this memory matters; low-importance memories decay with age' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  importance: number;

  @ApiPropertyOptional({ enum: MEMORY_TYPES, default: DEFAULT_MEMORY_TYPE })
  @IsOptional()
  @IsIn(MEMORY_TYPES)
  memory_type?: MemoryType;
}

export class StoreMemoryDto extends MemoryItemDto {
  @ApiProperty({ format: 'uuid', description: 'From POST /handshake' })
  @IsUUID()
  session_id: string;
}

export class StoreMemoryBatchDto {
  @ApiProperty({ format: 'uuid', description: 'From POST /handshake' })
  @IsUUID()
  session_id: string;

  @ApiProperty({ type: [MemoryItemDto], minItems: 1, maxItems: MAX_BATCH, description: 'Stored all or none, in one transaction' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH)
  @ValidateNested({ each: true })
  @Type(() => MemoryItemDto)
  memories: MemoryItemDto[];
}

export class RetrieveMemoriesDto {
  @ApiProperty({ format: 'uuid', description: 'From POST /handshake' })
  @IsUUID()
  session_id: string;

  @ApiProperty({
    type: Object,
    example: { type: 'monster_kill', location: { map: 'prt_fild08' }, actors: ['Poring'] },
    description: 'The situation to recall memories for, shaped like the stored events (same size bound)',
  })
  @IsObject()
  current_state: JsonObject;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_TOP_K, default: DEFAULT_TOP_K })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOP_K)
  top_k?: number;
}

export class ConsolidateMemoriesDto {
  @ApiProperty({ format: 'uuid', description: 'From POST /handshake' })
  @IsUUID()
  session_id: string;
}

export class StoredMemoryDto {
  @ApiProperty({ example: 42 }) memory_id: number;
  @ApiProperty({ example: true, description: 'Always true: every memory is stored with its embedding' }) embedding_generated: true;
  @ApiProperty({ description: 'The embedding came from the cache (an identical event was embedded recently)' }) embedding_cached: boolean;
  @ApiProperty({ format: 'date-time' }) stored_at: string;
}

export class StoredBatchDto {
  @ApiProperty() stored: number;
  @ApiProperty({ type: [StoredMemoryDto], description: 'In request order' }) memories: StoredMemoryDto[];
}

export class RetrievedMemoryDto {
  @ApiProperty() memory_id: number;
  @ApiProperty({ enum: MEMORY_TYPES }) memory_type: MemoryType;
  @ApiProperty({ type: Object }) event: JsonValue;
  @ApiProperty({ minimum: 0, maximum: 1 }) importance: number;
  @ApiProperty({ format: 'date-time', description: 'When the memory was stored' }) timestamp: string;
  @ApiProperty({ minimum: -1, maximum: 1, description: 'Cosine similarity with current_state; results are sorted by it, descending' }) similarity: number;
  @ApiProperty({ description: 'Times retrieved (including this time)' }) access_count: number;
  @ApiProperty({ description: 'Stored memories this one stands for (1 + near-duplicates merged into it)' }) merged_count: number;
}

export class RetrieveResultDto {
  @ApiProperty({ type: [RetrievedMemoryDto] }) memories: RetrievedMemoryDto[];
  @ApiProperty({ description: "The session's memories searched" }) total_memories: number;
  @ApiProperty() query_time_ms: number;
}

export class ConsolidationResultDto {
  @ApiProperty({ format: 'uuid' }) session_id: string;
  @ApiProperty() before: number;
  @ApiProperty() after: number;
  @ApiProperty({ description: 'Near-duplicates merged into a kept memory' }) merged: number;
  @ApiProperty({ description: 'Low-importance memories whose importance decayed' }) decayed: number;
  @ApiProperty({ description: 'Memories deleted: importance decayed away, or room made when full' }) pruned: number;
  @ApiProperty({ description: 'Memories stored while the consolidation was planned, carried over' }) carried_over: number;
  @ApiProperty({ description: 'False when the per-run change budget (5,000 rows) left work for the next consolidation' }) complete: boolean;
  @ApiProperty() duration_ms: number;
  @ApiProperty({ description: 'The database transaction (all changes at once)' }) database_ms: number;
  @ApiProperty({ description: "How long the session's readers and writers were held off (the swap)" }) exclusive_ms: number;
}
