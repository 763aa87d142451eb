import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { RawResponse } from '../../common/http/public.decorator';
import { PublishedRead } from '../../common/http/session-scope.decorator';
import {
  type FixConfigBody,
  FixConfigBodyPipe,
  FixConfigRequestDto,
  FixConfigResponseDto,
  type MapChangeBody,
  MapChangeBodyPipe,
  MapChangeRequestDto,
  MapChangeResponseDto,
  type SellJunkBody,
  SellJunkBodyPipe,
  SellJunkRequestDto,
  SellJunkResponseDto,
  type SkillsBody,
  SkillsBodyPipe,
  SkillsJobLevelUpRequestDto,
  SkillsJobLevelUpResponseDto,
  type StatsBody,
  StatsBodyPipe,
  StatsLevelUpRequestDto,
  StatsLevelUpResponseDto,
} from './dto/progression.dto';
import { chooseSkillPlan, chooseStatBuild, nextStatStep, planSale, resolveJob } from './progression.logic';
import { TablesService } from './tables.service';

/**
 * The GodTierAI plugin's progression, inventory and self-heal calls (docs/field-plugin.md §4.8-4.12),
 * answered from the data tables in the flat shape it reads. None of them names the character,
 * so none is tied to a session: each answers from its body and the published tables, taking no
 * session turn (whatever the body carries).
 */
@ApiTags('compatibility')
@Controller('api/v1')
@PublishedRead()
export class ProgressionController {
  constructor(private readonly tables: TablesService) {}

  @Post('inventory/sell_junk')
  @HttpCode(200)
  @RawResponse()
  @ApiOperation({
    summary: 'Which loot to sell: `sell <invIndex> <amount>` commands for items the junk table lists, with their NPC price',
    description:
      'Never sells a healing item, an item on the table’s or the request’s keep list, an equipped item, or one of a worn type ' +
      'unless the request says it is not equipped; an item whose type differs from the table’s is kept. ' +
      '`sell_commands` is always present (empty when nothing is to be sold).',
  })
  @ApiBody({ type: SellJunkRequestDto, required: false })
  @ApiOkResponse({ type: SellJunkResponseDto })
  @ApiErrors()
  sellJunk(@Body(SellJunkBodyPipe) body: SellJunkBody): SellJunkResponseDto {
    const sale = planSale(this.tables.current, body.rows, { ids: body.keepIds, names: body.keepNames });
    return { success: true, sell_commands: sale.commands, estimated_zeny: sale.estimatedZeny, items_sold: sale.sold, kept: sale.kept };
  }

  @Post('progression/stats/on_level_up')
  @HttpCode(200)
  @RawResponse()
  @ApiOperation({
    summary: 'The stat build to follow, as OpenKore’s statsAddAuto_list',
    description:
      'The job’s build when the body names a job (job_class, job or character_class: name or raw id); the field plugin names none, ' +
      'so the build whose end point the current stats lean towards is chosen (cosine of the points spent), else the table’s default.',
  })
  @ApiBody({ type: StatsLevelUpRequestDto, required: false })
  @ApiOkResponse({ type: StatsLevelUpResponseDto })
  @ApiErrors()
  statsOnLevelUp(@Body(StatsBodyPipe) body: StatsBody): StatsLevelUpResponseDto {
    const tables = this.tables.current;
    const job = body.job === undefined ? undefined : resolveJob(tables, body.job);
    const { build, matchedBy } = chooseStatBuild(tables, job, body.stats);
    return {
      success: build !== undefined,
      config: { statsAddAuto_list: build?.list ?? '' },
      job_class: build?.class ?? job?.name ?? null,
      build: build?.name ?? null,
      matched_by: matchedBy,
      next_step: build ? nextStatStep(build, body.stats) : null,
    };
  }

  @Post('progression/skills/on_job_level_up')
  @HttpCode(200)
  @RawResponse()
  @ApiOperation({
    summary: 'The skill plan to follow, by OpenKore skill handle, as skillsAddAuto_list',
    description:
      'The plan of the job named by `job` (the hook, lower case) or `job_class` (the periodic check; a raw id is read too), ' +
      'parent classes first; when the learned skills show a class further down that line, or the job is unknown, the class ' +
      'the learned skills belong to. Empty when no plan is known.',
  })
  @ApiBody({ type: SkillsJobLevelUpRequestDto, required: false })
  @ApiOkResponse({ type: SkillsJobLevelUpResponseDto })
  @ApiErrors()
  skillsOnJobLevelUp(@Body(SkillsBodyPipe) body: SkillsBody): SkillsJobLevelUpResponseDto {
    const tables = this.tables.current;
    const job = body.job === undefined ? undefined : resolveJob(tables, body.job);
    const { plan, matchedBy } = chooseSkillPlan(tables, job, body.skills);
    const next = plan?.steps.find((s) => (body.skills?.[s.handle] ?? 0) < s.level);
    return {
      success: plan !== undefined,
      config: { skillsAddAuto_list: plan?.list ?? '' },
      job_class: plan?.class ?? job?.name ?? null,
      matched_by: matchedBy,
      next_step: next ? `${next.handle} ${next.level}` : null,
    };
  }

  @Post('progression/equipment/on_map_change')
  @HttpCode(200)
  @RawResponse()
  @ApiOperation({ summary: 'Equipment changes for a new map: none yet (the field plugin only logs the commands)' })
  @ApiBody({ type: MapChangeRequestDto, required: false })
  @ApiOkResponse({ type: MapChangeResponseDto })
  @ApiErrors()
  equipmentOnMapChange(@Body(MapChangeBodyPipe) body: MapChangeBody): MapChangeResponseDto {
    return {
      success: true,
      commands: [],
      new_map: body.newMap ?? null,
      reason: 'no equipment table yet: keeping what is worn',
    };
  }

  @Post('self_heal/fix_plugin_config')
  @HttpCode(200)
  @RawResponse()
  @ApiOperation({
    summary: 'Asked to add a plugin’s missing keys to OpenKore’s config.txt: declined (the engine never edits files outside its own folders)',
  })
  @ApiBody({ type: FixConfigRequestDto, required: false })
  @ApiOkResponse({ type: FixConfigResponseDto })
  @ApiErrors()
  fixPluginConfig(@Body(FixConfigBodyPipe) body: FixConfigBody): FixConfigResponseDto {
    const plugin = body.pluginName ?? 'the plugin';
    return {
      success: false,
      error: `The engine does not edit OpenKore's control/config.txt. Add the keys ${plugin} reports as missing there by hand; OpenKore reloads the file on its own.`,
      plugin_name: body.pluginName ?? null,
    };
  }
}
