import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import {
  AdjustReputationDto,
  AdjustResultDto,
  HistoryPageDto,
  HistoryQueryDto,
  InteractionDto,
  InteractionRulesDto,
  PlayerIdParamDto,
  ReputationViewDto,
} from './dto/reputation.dto';
import { requirePlayerId } from './player-id';
import { ReputationService } from './reputation.service';

@ApiTags('reputation')
@ApiBearerAuth()
@Controller('api/v1/social')
export class ReputationController {
  constructor(private readonly reputation: ReputationService) {}

  @Get('reputation/:playerId')
  @ApiOperation({ summary: 'Score, tier, interaction totals and relation flags of one player' })
  @ApiOkResponse({ type: ReputationViewDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404)
  get(@Param() params: PlayerIdParamDto): Promise<ReputationViewDto> {
    return this.reputation.get(requirePlayerId(params.playerId));
  }

  @Get('reputation/:playerId/history')
  @ApiOperation({ summary: 'Interaction history of one player, newest first, paginated by id cursor' })
  @ApiOkResponse({ type: HistoryPageDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404)
  history(@Param() params: PlayerIdParamDto, @Query() query: HistoryQueryDto): Promise<HistoryPageDto> {
    return this.reputation.history(requirePlayerId(params.playerId), query);
  }

  @Post('reputation/adjust')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Change a player’s score by delta (clamped to [-100, 100]); creates the player on first sight',
    description: 'Score, tier, totals and the history row change in one transaction. With request_id the call is idempotent.',
  })
  @ApiOkResponse({ type: AdjustResultDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors()
  adjust(@Body() dto: AdjustReputationDto): Promise<AdjustResultDto> {
    return this.reputation.adjust(dto);
  }

  @Post('interaction')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record an interaction event; its delta comes from the rule table (GET /social/interaction/rules)' })
  @ApiOkResponse({ type: AdjustResultDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404)
  interaction(@Body() dto: InteractionDto): Promise<AdjustResultDto> {
    return this.reputation.interaction(dto);
  }

  @Get('interaction/rules')
  @ApiOperation({ summary: 'The interaction rule table and the reputation tiers' })
  @ApiOkResponse({ type: InteractionRulesDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors()
  rules(): InteractionRulesDto {
    return this.reputation.rules();
  }
}
