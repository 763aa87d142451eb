import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { LeanRoute } from '../../common/http/lean-route';
import { RawResponse } from '../../common/http/public.decorator';
import { SerializeBy } from '../../common/http/session-turn.guard';
import { SessionService } from '../session/session.service';
import { StateService } from '../state/state.service';
import { toPluginAction } from './action';
import { DecisionService } from './decision.service';
import { ActionFeedbackDto, DecideDto, DecideResponseDto } from './dto/decide.dto';
import { type DecideBody, DecideBodyPipe } from './dto/hot-path.pipes';

const decideBody = new DecideBodyPipe();

/** The plugin sends no session id: its character name keys the session (and its turn). */
export function characterKey(body: unknown): string | undefined {
  const name = (body as { game_state?: { character?: { name?: unknown } } } | undefined)?.game_state?.character?.name;
  return typeof name === 'string' ? `character:${name}` : undefined;
}

/** Routes the GodTierAI plugin in the field calls, answering in the flat shape it reads. */
@ApiTags('compatibility')
@Controller('api/v1')
export class CompatController {
  constructor(
    private readonly sessions: SessionService,
    private readonly state: StateService,
    private readonly decisions: DecisionService,
  ) {}

  @Post('decide')
  @HttpCode(200)
  @RawResponse()
  @SerializeBy((req) => characterKey(req.body))
  @LeanRoute((req) => [decideBody.transform(req.body)])
  @ApiOperation({ summary: 'Plugin decide route: same path as POST /state, keyed by character name; flat response' })
  @ApiBody({ type: DecideDto })
  @ApiOkResponse({ type: DecideResponseDto })
  @ApiErrors()
  async decide(@Body(DecideBodyPipe) dto: DecideBody): Promise<DecideResponseDto> {
    const started = performance.now();
    const sessionId = await this.sessions.touchCharacter(dto.game_state.character.name);
    const snapshot = await this.state.apply(sessionId, { full: dto.game_state });
    const decision = await this.decisions.decide(snapshot);
    return {
      action: toPluginAction(decision.action),
      params: decision.action.params,
      reason: decision.action.reason,
      tier_used: decision.decision_tier,
      latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
      ...(dto.request_id !== undefined ? { request_id: dto.request_id } : {}),
      session_id: sessionId,
      state_version: snapshot.version,
      ...(decision.pending ? { pending_task_id: decision.pending.task_id } : {}),
    };
  }

  @Post('action_feedback')
  @HttpCode(200)
  @RawResponse()
  @ApiOperation({ summary: 'Plugin reports how an action went; counted per action type and fed to training' })
  @ApiErrors()
  feedback(@Body() dto: ActionFeedbackDto) {
    const sessionId = dto.session_id ?? (dto.character_name ? this.sessions.sessionForCharacter(dto.character_name) : undefined);
    const success = dto.status === 'success';
    this.decisions.recordFeedback(dto.action, success, sessionId, dto.reason ?? dto.message);
    return { success: true, recorded: { action: dto.action, success } };
  }
}
