import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { LockManager, SessionSerializer } from '../../common/concurrency';
import { DatabaseService } from '../../common/database/database.service';
import { ApiErrors } from '../../common/http/api-errors.decorator';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1/admin')
export class AdminController {
  constructor(
    private readonly locks: LockManager,
    private readonly sessions: SessionSerializer,
    private readonly db: DatabaseService,
  ) {}

  @Get('locks')
  @ApiOperation({
    summary: 'Held locks with holders and ages, waiters, contention per lock, deadlock and long-hold reports, order violations, session queues',
  })
  @ApiOkResponse({ description: 'Lock report' })
  @ApiErrors()
  report() {
    return { ...this.locks.getReport(), session_queues: this.sessions.stats(), database: this.db.counters };
  }
}
