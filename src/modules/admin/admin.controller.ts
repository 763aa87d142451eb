import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { LockManager, SessionSerializer } from '../../common/concurrency';
import { DatabaseService } from '../../common/database/database.service';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { type JobStatus, PeriodicJobs } from '../../common/scheduling';

class JobErrorDto {
  @ApiProperty() message!: string;
  @ApiProperty({ description: 'ISO 8601' }) at!: string;
}

class JobStatusDto {
  @ApiProperty({ example: 'state.flush' }) name!: string;
  @ApiProperty({ description: 'milliseconds between runs (0: disabled by configuration)' }) interval_ms!: number;
  @ApiProperty({ description: 'a timer runs (false: disabled, or stopped at shutdown, or a job that only runs at times)' }) enabled!: boolean;
  @ApiProperty({ description: 'a run is going now' }) running!: boolean;
  @ApiProperty() runs!: number;
  @ApiProperty({ description: 'ticks skipped because the previous run was still going' }) skipped_overlaps!: number;
  @ApiProperty({ description: 'runs that threw or rejected' }) failures!: number;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'start of the last run (ISO 8601)' }) last_run_at!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) last_duration_ms!: number | null;
  @ApiPropertyOptional({ nullable: true, type: JobErrorDto }) last_error!: JobErrorDto | null;
}

class JobsReportDto {
  @ApiProperty({ type: [JobStatusDto] }) jobs!: JobStatusDto[];
}
import { SessionOwnership } from '../session';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('api/v1/admin')
export class AdminController {
  constructor(
    private readonly locks: LockManager,
    private readonly sessions: SessionSerializer,
    private readonly db: DatabaseService,
    private readonly jobs: PeriodicJobs,
    // null unless SESSION_LEASES=1 (see SessionModule).
    @Optional() @Inject(SessionOwnership) private readonly ownership: SessionOwnership | null,
  ) {}

  @Get('cluster')
  @ApiOperation({
    summary: 'This engine instance (id, advertised address, leases it holds), the live instances on the database with their live session leases, the lease TTL',
  })
  @ApiOkResponse({ description: 'Cluster report' })
  @ApiErrors()
  async cluster() {
    return (await this.ownership?.cluster()) ?? { session_leases: false, message: 'SESSION_LEASES is off: this engine serves every session itself, with no lease' };
  }

  @Get('locks')
  @ApiOperation({
    summary: 'Held locks with holders and ages, waiters, contention per lock, deadlock and long-hold reports, order violations, session queues',
  })
  @ApiOkResponse({ description: 'Lock report' })
  @ApiErrors()
  report() {
    return { ...this.locks.getReport(), session_queues: this.sessions.stats(), database: this.db.counters };
  }

  @Get('jobs')
  @ApiOperation({ summary: 'The periodic jobs: interval, enabled, running, runs, last run and duration, last error, skipped overlaps' })
  @ApiOkResponse({ type: JobsReportDto })
  @ApiErrors()
  jobList(): { jobs: JobStatus[] } {
    return { jobs: this.jobs.list() };
  }
}
