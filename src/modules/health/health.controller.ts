import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public, RawResponse } from '../../common/http/public.decorator';
import { type EngineHealth, HealthService } from './health.service';
import { WarmupService } from './warmup.service';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly terminus: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly warmup: WarmupService,
  ) {}

  @Get(['api/v1/health', 'health'])
  @RawResponse()
  @ApiOperation({ summary: 'Engine health in the spec shape (no token needed); 503 when unhealthy' })
  @ApiOkResponse({ description: '{status, uptime_seconds, active_sessions, decision_engines, performance, issues}' })
  @ApiResponse({ status: 503, description: 'unhealthy, with `issues`' })
  engine(@Res({ passthrough: true }) reply: FastifyReply): EngineHealth {
    const result = this.health.check();
    if (result.status === 'unhealthy') void reply.code(503);
    return result;
  }

  @Get('health/live')
  @RawResponse()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live(): Promise<HealthCheckResult> {
    return this.terminus.check([]);
  }

  @Get('health/ready')
  @RawResponse()
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: the database answers, the hot path is warm (warm-up done) and writes do not fail for lack of disk space (indicator `disk`: degraded details under the low threshold)',
  })
  @ApiResponse({ status: 503, description: 'not ready' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | unknown> {
    try {
      return await this.terminus.check([() => this.databaseIndicator(), () => this.warmupIndicator(), () => this.diskIndicator()]);
    } catch (err) {
      // Keep terminus' own body (it names the failing indicator) rather than the error envelope.
      if (err instanceof ServiceUnavailableException) {
        void reply.code(503);
        return err.getResponse();
      }
      throw err;
    }
  }

  private warmupIndicator(): HealthIndicatorResult {
    const session = this.indicator.check('warmup');
    const r = this.warmup.report();
    return this.warmup.ready ? session.up({ rounds: r.rounds, duration_ms: r.duration_ms }) : session.down({ message: `warm-up ${r.status}` });
  }

  /** Down (503, naming the disk) only while writes fail for lack of space; low space is reported, not a refusal. */
  private diskIndicator(): HealthIndicatorResult {
    const session = this.indicator.check('disk');
    const disk = this.health.diskHealth();
    const details = { state: disk.status, message: disk.detail };
    return disk.status === 'unhealthy' ? session.down(details) : session.up(details);
  }

  private databaseIndicator(): HealthIndicatorResult {
    const session = this.indicator.check('database');
    const db = this.health.databaseHealth();
    return db.status === 'healthy' ? session.up() : session.down({ message: db.detail });
  }
}
