import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import {
  ConsolidateMemoriesDto,
  ConsolidationResultDto,
  RetrieveMemoriesDto,
  RetrieveResultDto,
  StoreMemoryBatchDto,
  StoreMemoryDto,
  StoredBatchDto,
  StoredMemoryDto,
} from './dto/memory.dto';
import { DEFAULT_TOP_K } from './memory.constants';
import { MemoryService, type MemoryStats } from './memory.service';

@ApiTags('memory')
@ApiBearerAuth()
@Controller('api/v1/memory')
export class MemoryController {
  constructor(private readonly memory: MemoryService) {}

  @Post('store')
  @HttpCode(200)
  @ApiOperation({ summary: 'Store one memory of a session, with its embedding' })
  @ApiOkResponse({ type: StoredMemoryDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404, 409)
  store(@Body() dto: StoreMemoryDto): Promise<StoredMemoryDto> {
    return this.memory.store(dto.session_id, dto);
  }

  @Post('store/batch')
  @HttpCode(200)
  @ApiOperation({ summary: 'Store up to 1000 memories of a session in one transaction (all or none)' })
  @ApiOkResponse({ type: StoredBatchDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404, 409, 413)
  async storeBatch(@Body() dto: StoreMemoryBatchDto): Promise<StoredBatchDto> {
    const memories = await this.memory.storeMany(dto.session_id, dto.memories);
    return { stored: memories.length, memories };
  }

  @Post('retrieve')
  @HttpCode(200)
  @ApiOperation({ summary: "The session's memories most similar to the current state (cosine similarity, descending)" })
  @ApiOkResponse({ type: RetrieveResultDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404)
  retrieve(@Body() dto: RetrieveMemoriesDto): Promise<RetrieveResultDto> {
    return this.memory.retrieve(dto.session_id, dto.current_state, dto.top_k ?? DEFAULT_TOP_K);
  }

  @Post('consolidate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Merge near-duplicate memories and decay old low-importance ones',
    description: 'Atomic for readers: a retrieval sees the memories all before or all after. Joins a consolidation of the session already running.',
  })
  @ApiOkResponse({ type: ConsolidationResultDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404)
  consolidate(@Body() dto: ConsolidateMemoriesDto): Promise<ConsolidationResultDto> {
    return this.memory.consolidate(dto.session_id);
  }

  @Get('stats')
  @ApiOperation({ summary: 'Loaded indexes, their memory use, embedding cache and generator counters' })
  @ApiErrors()
  stats(): MemoryStats {
    return this.memory.stats();
  }
}
