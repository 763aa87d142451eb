import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NotFoundError } from '../../common/errors/app.error';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { RawResponse } from '../../common/http/public.decorator';
import { PublishedRead } from '../../common/http/session-scope.decorator';
import {
  CyclesPageDto,
  CyclesQueryDto,
  CycleViewDto,
  PdcaStatusDto,
  StopResultDto,
  type StrategyPlanBody,
  StrategyPlanBodyPipe,
  StrategyPlanRequestDto,
  StrategyPlanResponseDto,
  type TriggerBody,
  TriggerBodyPipe,
  TriggerPdcaDto,
  TriggerResponseDto,
} from './dto/pdca.dto';
import { resolveJob, TablesService } from '../progression';
import { type CycleView, PdcaService, type PdcaStatusView, type StopResult } from './pdca.service';

@ApiTags('pdca')
@ApiBearerAuth()
@Controller('api/v1/pdca')
export class PdcaController {
  constructor(private readonly pdca: PdcaService) {}

  @Get()
  @ApiOperation({ summary: 'The improvement cycle across every engine process on the database: running?, phase, count, current and last cycle' })
  @ApiOkResponse({ type: PdcaStatusDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors()
  status(): Promise<PdcaStatusView> {
    return this.pdca.status();
  }

  @Post('trigger')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Start a cycle in the background (PLAN → DO → execution period → CHECK → ACT). 202 with its id at once; 409 BUSY at once when a cycle runs in any process',
  })
  @ApiBody({ type: TriggerPdcaDto, required: false })
  @ApiAcceptedResponse({ type: TriggerResponseDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(409)
  async trigger(@Body(TriggerBodyPipe) body: TriggerBody): Promise<TriggerResponseDto> {
    const started = await this.pdca.trigger('manual', body.reason);
    return { ...started, status: 'started' };
  }

  @Post('stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop the running cycle (here or in the process running it) at its next step; answers with its status (bounded wait)' })
  @ApiOkResponse({ type: StopResultDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors()
  stop(): Promise<StopResult> {
    return this.pdca.stop();
  }

  @Get('cycles')
  @ApiOperation({ summary: 'Cycle history, newest first, paginated (`before` = next_before of the previous page)' })
  @ApiOkResponse({ type: CyclesPageDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors()
  cycles(@Query() q: CyclesQueryDto): Promise<{ cycles: CycleView[]; next_before: number | null }> {
    return this.pdca.history({ limit: q.limit ?? 20, before: q.before, status: q.status });
  }

  @Get('cycles/:id')
  @ApiOperation({ summary: 'One cycle: trigger, phases with times, strategy, deployment, outcome, decision' })
  @ApiOkResponse({ type: CycleViewDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404)
  async cycle(@Param('id', ParseIntPipe) id: number): Promise<CycleView> {
    const view = await this.pdca.cycle(id);
    if (!view) throw new NotFoundError(`PDCA cycle ${id} not found`, { cycle_id: id });
    return view;
  }
}

/** The route the GodTierAI plugin in the field calls on the main port: a plan, synchronously, flat. */
@ApiTags('compatibility')
@Controller('api/v1/strategy')
export class StrategyCompatController {
  constructor(
    private readonly pdca: PdcaService,
    private readonly tables: TablesService,
  ) {}

  @Post('plan')
  @HttpCode(200)
  @RawResponse()
  // Plans from the body's state or the character's published snapshot and writes nothing: no
  // session turn, so a slow planner (the LLM, bounded) never holds up the bot's decide route.
  @PublishedRead()
  @ApiOperation({
    summary:
      'Plugin strategy route: a plan from the PDCA planner (the LLM when configured, bounded, else/then the built-in planner) for the given or latest game state',
  })
  @ApiBody({ type: StrategyPlanRequestDto, required: false })
  @ApiOkResponse({ type: StrategyPlanResponseDto })
  @ApiErrors()
  async plan(@Body(StrategyPlanBodyPipe) body: StrategyPlanBody): Promise<StrategyPlanResponseDto> {
    const started = performance.now();
    const strategy = await this.pdca.planNow({ state: body.game_state, character: body.character_name, goal: body.goal });
    const status = await this.pdca.status();
    // The plugin sends the raw job id (or "Novice"): named from the jobs table.
    const job = body.job_class === undefined ? undefined : resolveJob(this.tables.current, body.job_class);
    return {
      plan_type: strategy.plan_type,
      plan: {
        id: strategy.id,
        goal: strategy.goal,
        rationale: strategy.rationale,
        character: strategy.character,
        macros: strategy.macros.map((m) => ({ template: m.template, name: m.params.name, params: m.params })),
        targets: strategy.targets,
      },
      strategy_id: strategy.id,
      planner: strategy.planner,
      ...(strategy.fallback_reason ? { fallback_reason: strategy.fallback_reason } : {}),
      latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
      ...(body.request_id !== undefined ? { request_id: body.request_id } : {}),
      ...(body.job_class !== undefined ? { job_class: job?.name ?? (typeof body.job_class === 'string' ? body.job_class : null), job_id: job?.id ?? null } : {}),
      pdca: {
        cycle_running: status.cycle_running,
        current_phase: status.current_phase,
        strategy_id: status.current_cycle?.strategy?.id ?? status.last_cycle?.strategy?.id ?? null,
      },
    };
  }
}
