import { Body, Controller, Get, HttpCode, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { Public, RawResponse } from '../../common/http/public.decorator';
import { EventLoopDelayQueryDto, MetricsLogDto, MetricsLogResultDto } from './dto/metrics.dto';
import type { LoopDelayStats } from '../../common/runtime/event-loop-delay';
import { MetricsAuthGuard } from './metrics-auth.guard';
import { type MetricsReport, MetricsService } from './metrics.service';
import { PromRegistry } from './prom-registry';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller('api/v1/metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({
    summary:
      'decision_stats (engine decisions per tier), decision_outcomes (logged), performance (response time per tier, requests/s, error rate over the window), resource_usage (CPU, memory, event-loop lag), uptime, collector health',
  })
  @ApiOkResponse({ description: 'Metrics report' })
  @ApiErrors()
  report(): MetricsReport {
    return this.metrics.report();
  }

  @Get('event-loop')
  @ApiOperation({
    summary:
      'Event-loop delay (how long ready work waited for the loop) over the metrics window, or from `since` (epoch ms): samples, mean, p50, p99, max in ms, per-second resolution',
  })
  @ApiOkResponse({ description: '{resolution_ms, window_seconds, since, samples, mean_ms, p50_ms, p99_ms, max_ms}' })
  @ApiErrors()
  eventLoop(@Query() q: EventLoopDelayQueryDto): LoopDelayStats {
    return this.metrics.eventLoopDelay(q.since);
  }

  @Post('log')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Records a decision outcome into decision_log and the summaries; answers once the row is committed, with its id',
  })
  @ApiOkResponse({ type: MetricsLogResultDto })
  @ApiErrors()
  log(@Body() body: MetricsLogDto): Promise<MetricsLogResultDto> {
    return this.metrics.log(body);
  }
}

@ApiTags('metrics')
@Controller()
export class PrometheusController {
  constructor(private readonly prom: PromRegistry) {}

  @Get('metrics')
  @Public()
  @RawResponse()
  @UseGuards(MetricsAuthGuard)
  @ApiBearerAuth()
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus exposition (text format 0.0.4). Needs the token when one is set, unless METRICS_PUBLIC=1' })
  @ApiOkResponse({ description: 'Prometheus text' })
  @ApiErrors()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.prom.exposition();
    void reply.header('content-type', this.prom.contentType);
    return text;
  }
}
