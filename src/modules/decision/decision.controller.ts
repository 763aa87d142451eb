import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvalidRequestError } from '../../common/errors/app.error';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import type { PipelineReply } from '../../common/http/http-exchange';
import { FrontDoor } from '../../common/http/public.decorator';
import { type Tables, TablesService } from '../progression';
import { SessionService } from '../session';
import { DecisionResponseDto, PendingDecisionResponseDto, StateUpdateDto, etagOf, StateService } from '../state';
import { DecisionService } from './decision.service';
import { ConfigReloadDto } from './dto/decide.dto';
import { type StateUpdateBody, StateUpdateBodyPipe } from './dto/hot-path.pipes';
import { PlannerService } from './planner.service';
import { RuleSetService } from './rule-set.service';

/** `If-Match: "7"` (or W/"7") → 7. */
function versionFromIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m) throw new InvalidRequestError('If-Match must be a state version, e.g. "7"');
  return Number(m[1]);
}

@ApiTags('decision')
@ApiBearerAuth()
@Controller('api/v1')
export class DecisionController {
  constructor(
    private readonly sessions: SessionService,
    private readonly state: StateService,
    private readonly decisions: DecisionService,
    private readonly planner: PlannerService,
    private readonly rules: RuleSetService,
    private readonly tables: TablesService,
  ) {}

  @Post('state')
  @HttpCode(200)
  @FrontDoor()
  @ApiOperation({ summary: 'Apply a game state (whole or a patch) and get the next action' })
  @ApiHeader({ name: 'If-Match', required: false, description: 'Expected state version (like expected_version)' })
  @ApiOkResponse({ type: DecisionResponseDto })
  @ApiAcceptedResponse({ type: PendingDecisionResponseDto, description: 'The strategic planner is working: poll GET /action/:taskId' })
  @ApiBody({ type: StateUpdateDto })
  @ApiErrors(404, 409)
  async update(@Body(StateUpdateBodyPipe) dto: StateUpdateBody, @Headers('if-match') ifMatch: string | undefined, @Res({ passthrough: true }) reply: PipelineReply) {
    this.sessions.touch(dto.session_id);
    const headerVersion = versionFromIfMatch(ifMatch);
    if (headerVersion !== undefined && dto.expected_version !== undefined && headerVersion !== dto.expected_version) {
      throw new InvalidRequestError('If-Match and expected_version disagree');
    }
    const snapshot = await this.state.apply(dto.session_id, {
      full: dto.game_state,
      patch: dto.patch,
      strategy: dto.merge_strategy,
      expectedVersion: dto.expected_version ?? headerVersion,
    });
    const decision = await this.decisions.decide(snapshot);
    void reply.header('etag', etagOf(snapshot.version));
    if (decision.pending) {
      void reply.code(202);
      return {
        session_id: dto.session_id,
        version: snapshot.version,
        task_id: decision.pending.task_id,
        fallback_action: decision.pending.fallback_action,
        processing_time_ms: decision.processing_time_ms,
      };
    }
    return {
      session_id: dto.session_id,
      version: snapshot.version,
      decision_tier: decision.decision_tier,
      processing_time_ms: decision.processing_time_ms,
      action: decision.action,
      tier_timings_us: decision.tier_timings_us,
    };
  }

  @Get('action/:taskId')
  @ApiOperation({ summary: 'Poll a strategic-planner task: pending, completed (with its action) or failed' })
  @ApiErrors(404)
  task(@Param('taskId', new ParseUUIDPipe()) taskId: string) {
    return this.planner.get(taskId);
  }

  @Post('config/reload')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Re-read runtime configuration under the CONFIG lock: the rules file, the data tables, or both (no type); an invalid one is refused (422) and the running one stays',
  })
  @ApiErrors(422)
  async reload(@Body() dto: ConfigReloadDto) {
    if (dto.type === 'tables') return { type: 'tables', ...tablesView(await this.tables.reload()) };
    // Both: the tables first, so a refused rules file (422) still leaves fresh tables behind.
    const tables = dto.type === undefined ? tablesView(await this.tables.reload()) : undefined;
    const set = await this.rules.reload();
    return {
      type: dto.type ?? 'rules',
      version: set.version,
      source: set.source,
      loaded_at: set.loadedAt,
      rule_count: set.rules.length,
      ...(tables ? { tables } : {}),
    };
  }

  @Get('config/:type')
  @ApiOperation({ summary: 'The running configuration of a type: rules, or tables (versions, sources and what they hold)' })
  @ApiErrors(400)
  config(@Param('type') type: string) {
    if (type === 'tables') return { type, ...tablesView(this.tables.current) };
    RuleSetService.assertType(type);
    const set = this.rules.rules;
    return { type, version: set.version, source: set.source, loaded_at: set.loadedAt, rules: set.rules };
  }
}

function tablesView(t: Tables) {
  return {
    version: t.version,
    source: t.dir,
    loaded_at: t.loadedAt,
    sources: t.sources,
    classes: [...t.skillPlans.keys()],
    counts: { jobs: t.jobsById.size, stat_builds: t.statBuilds.size, skill_plans: t.skillPlans.size, healing_items: t.healing.size, junk_items: t.junk.size, keep: t.keep.size },
  };
}
