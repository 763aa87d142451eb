import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { FrontDoor, RawResponse } from '../../common/http/public.decorator';
import { bodyFields, characterRef, SessionFrom, sessionIdRef } from '../../common/http/session-scope.decorator';
import { LenientBodyPipe } from '../../common/validation/lenient-body.pipe';
import { TablesService } from '../progression';
import { SessionService } from '../session';
import { StateService } from '../state';
import { DecisionService } from './decision.service';
import { ActionFeedbackDto, DecideDto, DecideResponseDto } from './dto/decide.dto';
import { type DecideBody, DecideBodyPipe } from './dto/hot-path.pipes';
import { toPluginAnswer } from './plugin-action';
import { pluginKnowledge } from './plugin-knowledge';

/** The plugin sends no session id: its character's session (created on first sight) is the request's. */
function decideSession(body: unknown) {
  return characterRef((body as { game_state?: { character?: { name?: unknown } } } | undefined)?.game_state?.character?.name);
}

/** Routes the GodTierAI plugin in the field calls, answering in the flat shape it reads. */
@ApiTags('compatibility')
@Controller('api/v1')
export class CompatController {
  constructor(
    private readonly sessions: SessionService,
    private readonly state: StateService,
    private readonly decisions: DecisionService,
    private readonly tables: TablesService,
  ) {}

  @Post('decide')
  @HttpCode(200)
  @RawResponse()
  @FrontDoor()
  @SessionFrom((req) => decideSession(req.body))
  @ApiOperation({
    summary: 'Plugin decide route: same path as POST /state, keyed by character name; flat response',
    description:
      'Answers one of the action types the field plugin executes (attack_monster, use_item, emergency_heal, emergency_flee, ' +
      'teleport, return_to_town, move_to_position, move_to_map, rest, idle_recover, sell_items, continue), checked against ' +
      'the state it sent: targets among its monsters, items it holds; never a fight at or below 15% HP.',
  })
  @ApiBody({ type: DecideDto })
  @ApiOkResponse({ type: DecideResponseDto })
  @ApiErrors()
  async decide(@Body(DecideBodyPipe) dto: DecideBody): Promise<DecideResponseDto> {
    const started = performance.now();
    // Both synchronous: each await of a settled promise would still cost a promise and a turn of the microtask queue.
    const sessionId = this.sessions.touchCharacterNow(dto.game_state.character.name);
    const snapshot = this.state.applyNow(sessionId, { full: dto.game_state });
    const decision = await this.decisions.decide(snapshot);
    const answer = toPluginAnswer(decision.action, snapshot.state, pluginKnowledge(this.tables.current));
    return {
      action: answer.action,
      params: answer.params,
      reason: answer.reason,
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
  // The same bot's session as its decide route: by session id, else by character name.
  @SessionFrom((req) => sessionIdRef(bodyFields(req).session_id) ?? characterRef(bodyFields(req).character_name))
  @ApiOperation({ summary: 'Plugin reports how an action went; counted per action type and fed to training (unknown fields ignored)' })
  @ApiBody({ type: ActionFeedbackDto })
  @ApiErrors()
  // Readonly<…>: not the class itself, so the global pipe (which refuses unknown fields) leaves the body to the lenient one.
  feedback(@Body(new LenientBodyPipe(ActionFeedbackDto)) dto: Readonly<ActionFeedbackDto>) {
    const sessionId = dto.session_id ?? (dto.character_name ? this.sessions.sessionForCharacter(dto.character_name) : undefined);
    const success = dto.status === 'success';
    this.decisions.recordFeedback(dto.action, success, sessionId, dto.reason ?? dto.message);
    return { success: true, recorded: { action: dto.action, success } };
  }
}
