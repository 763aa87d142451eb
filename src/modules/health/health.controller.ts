import { Controller, Get, Inject, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { LockManager } from '../../common/concurrency';
import { Public, RawResponse } from '../../common/http/public.decorator';
import { METRICS, type MetricsPort } from '../../common/ports/metrics-sources.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
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
    private readonly locks: LockManager,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort | null = null,
  ) {}

  @Get(['api/v1/health', 'health'])
  @RawResponse()
  @ApiOperation({ summary: 'Engine health in the spec shape (no token needed); 503 when unhealthy' })
  @ApiOkResponse({ description: '{status, uptime_seconds, active_sessions, decision_engines, performance, issues}' })
  @ApiResponse({ status: 503, description: 'unhealthy, with `issues`' })
  async engine(@Res({ passthrough: true }) reply: FastifyReply): Promise<EngineHealth> {
    const result = await this.health.check();
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
      'Readiness, one terminus indicator each (details in the body): `database` answers, `warmup` done, `disk` (down while writes fail for lack of space; `state: degraded` under the low threshold), `event_loop` (worst delay over the window under HEALTH_LOOP_DELAY_MAX_MS), `locks` (no lock held past LOCK_LONG_HOLD_MS; deadlocks counted), `ml` (never down: `state: degraded` without a model)',
  })
  @ApiResponse({ status: 503, description: 'not ready' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | unknown> {
    try {
      return await this.terminus.check([
        () => this.databaseIndicator(),
        () => this.warmupIndicator(),
        () => this.diskIndicator(),
        () => this.eventLoopIndicator(),
        () => this.locksIndicator(),
        () => this.mlIndicator(),
      ]);
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

  /**
   * The engine's own sampler (metrics module), over the last HEALTH_LOOP_DELAY_WINDOW_MS but not
   * before the warm-up ended (the boot's stalls are the warm-up's business): down while the worst
   * delay in that span is above HEALTH_LOOP_DELAY_MAX_MS. A blocked loop is seen once it runs again.
   */
  private eventLoopIndicator(): HealthIndicatorResult {
    const session = this.indicator.check('event_loop');
    const bound = this.config.healthLoopDelayMaxMs;
    const windowMs = this.config.healthLoopDelayWindowMs;
    const reading = this.metrics?.eventLoopDelay?.(Math.max(Date.now() - windowMs, this.warmup.readyAt ?? Date.now())) ?? null;
    if (bound <= 0 || !reading) return session.up({ state: bound <= 0 ? 'not checked' : 'no sampler', max_delay_ms: bound });
    const details = { max_ms: reading.max_ms, p99_ms: reading.p99_ms, samples: reading.samples, window_ms: windowMs, max_delay_ms: bound };
    return (reading.max_ms ?? 0) > bound ? session.down({ ...details, message: `event-loop delay ${reading.max_ms} ms above ${bound} ms` }) : session.up(details);
  }

  /**
   * Down while a lock is held past LOCK_LONG_HOLD_MS (a stuck holder; a deadlock the detector did
   * not break would show here too). A deadlock found is broken at once by failing its newest
   * waiter, so it is counted in the details, not a reason to stop routing traffic here.
   */
  private locksIndicator(): HealthIndicatorResult {
    const session = this.indicator.check('locks');
    const r = this.locks.longHolds();
    const details = {
      long_hold_ms: r.threshold_ms,
      long_holds: r.open.slice(0, 5).map((h) => ({ lock: h.lock, mode: h.mode, task: h.task, held_ms: h.heldMs })),
      deadlocks_total: r.deadlocks_total,
      last_deadlock_at: r.last_deadlock_at,
    };
    return r.open.length > 0 ? session.down({ ...details, message: `${r.open.length} lock hold(s) past ${r.threshold_ms} ms` }) : session.up(details);
  }

  /** The ML tier: never down (decisions fall back to the other tiers); `state: degraded` without a model. */
  private mlIndicator(): HealthIndicatorResult {
    const session = this.indicator.check('ml');
    const ml = this.health.decisionEngineHealth('ml');
    return session.up(ml ? { state: ml.status, message: ml.detail } : { state: 'absent', message: 'ML module not loaded' });
  }

  private async databaseIndicator(): Promise<HealthIndicatorResult> {
    const session = this.indicator.check('database');
    const db = await this.health.databaseHealth();
    return db.status === 'healthy' ? session.up() : session.down({ message: db.detail });
  }
}
