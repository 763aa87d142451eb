import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { FlagsReportDto } from './dto/flags.dto';
import { FlagService } from './flag.service';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

@ApiTags('flags')
@ApiBearerAuth()
@Controller('api/v1/flags')
export class FlagsController {
  constructor(private readonly flags: FlagService) {}

  @Get()
  @ApiOperation({ summary: 'Cross-process flags (leases) and version counters shared by every engine process on the database' })
  @ApiOkResponse({ type: FlagsReportDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors()
  async report(): Promise<FlagsReportDto> {
    const rows = await this.flags.list();
    return {
      owner_id: this.flags.ownerId,
      flags: rows
        .filter((r) => r.kind === 'flag')
        .map((r) => ({
          name: r.name,
          held: r.held,
          owner: r.held ? r.owner : null,
          token: r.token,
          acquired_at: r.held ? iso(r.acquired_at) : null,
          expires_at: r.held ? iso(r.expires_at) : null,
          heartbeat_at: r.held ? iso(r.heartbeat_at) : null,
          updated_at: iso(r.updated_at)!,
        })),
      counters: rows.filter((r) => r.kind === 'counter').map((r) => ({ name: r.name, value: r.value, updated_at: iso(r.updated_at)! })),
    };
  }
}
