import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { RawResponse } from '../../common/http/public.decorator';
import { type BotRow, ConsoleService, type ConsoleSummary } from './console.service';
import type { DecisionSample } from './decision-history';
import { ConsoleSummaryQueryDto } from './dto/console.dto';

/** The data routes of the operator console (`/console`); the page itself is static and public. */
@ApiTags('console')
@ApiBearerAuth()
@Controller('api/v1/console')
export class ConsoleController {
  constructor(private readonly console: ConsoleService) {}

  @Get('summary')
  @ApiOperation({
    summary: 'Everything the console shows, once: bots, decision totals and latency, locks, PDCA, models, macros; plus the decision chart points (`since`: only newer ones). The page polls it when no stream is free',
  })
  @ApiOkResponse({ description: 'Success envelope; `data` is `{summary, history}`' })
  @ApiErrors()
  async summary(@Query() q: ConsoleSummaryQueryDto): Promise<{ summary: ConsoleSummary; history: DecisionSample[] }> {
    const summary = await this.console.summary();
    const points = this.console.historyPoints();
    return { summary, history: q.since === undefined ? points : points.filter((p) => p.t > q.since!) };
  }

  @Get('stream')
  @RawResponse()
  @ApiOperation({
    summary:
      'Server-Sent Events for one open console: `hello` ({summary, history}) at once, then `summary` ({summary, sample}) every CONSOLE_INTERVAL_MS. Never ends on its own (not for "Try it out"); 409 BUSY when CONSOLE_MAX_STREAMS are open',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream' })
  @ApiErrors(409)
  async stream(@Res() reply: FastifyReply): Promise<void> {
    const stream = await this.console.openStream();
    // The client is gone or the response ended: free the slot either way (also when it went
    // while the first summary was read).
    if (reply.raw.destroyed || reply.raw.closed) {
      stream.end();
      return;
    }
    reply.raw.once('close', () => stream.end());
    void reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-accel-buffering', 'no')
      // The connection carries nothing after the stream: closing it with the stream lets a
      // draining server finish at once instead of keeping an idle keep-alive socket.
      .header('connection', 'close')
      .send(stream.body);
  }

  @Get('bots/:id')
  @ApiOperation({ summary: "One session's row of the bots table: character, map, HP %, last tick, last decision (tier, action, reason, time), queue depths" })
  @ApiOkResponse({ description: 'Success envelope; `data` is the row' })
  @ApiErrors(404)
  bot(@Param('id') id: string): BotRow {
    return this.console.bot(id);
  }
}
