import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { type PruneRunReport, RetentionService } from './retention.service';
import { type StorageReport, StorageService } from './storage.service';
import type { VacuumResult } from './storage-stats';
import { VacuumService } from './vacuum.service';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1/admin/storage')
export class StorageController {
  constructor(
    private readonly storage: StorageService,
    private readonly retention: RetentionService,
    private readonly vacuum: VacuumService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Rows and bytes per table (with indexes), oldest row, retention rule and last prune per table; database file, WAL and free pages; free disk, shedding, prune runs' })
  @ApiOkResponse({ description: 'Storage report' })
  @ApiErrors()
  report(): Promise<StorageReport> {
    return this.storage.report();
  }

  @Post('prune')
  @HttpCode(200)
  @ApiOperation({ summary: 'Runs the retention job now (or waits for the run already going) and returns its report' })
  @ApiErrors()
  prune(): Promise<PruneRunReport> {
    return this.retention.run('admin');
  }

  @Post('vacuum')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Full VACUUM on a worker thread, switching a database made by an older version to incremental auto-vacuum. Writes wait for it (503 past their busy bound): run it at a quiet moment. Needs about twice the database size free (503 STORAGE_FULL otherwise)',
  })
  @ApiErrors(409)
  vacuumNow(): Promise<VacuumResult> {
    return this.vacuum.vacuumNow();
  }
}
