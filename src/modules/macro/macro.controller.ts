import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { ExecuteMacroDto, ExecutionsQueryDto, MacroQueryDto, PutMacroDto, ReloadMacroDto, RenderTemplateDto, ValidateMacroDto } from './dto/macro.dto';
import type { ExecutionView } from './runtime/execution';
import { assertMacroName } from './macro-paths';
import { blockReports } from './registry/file-book';
import { type DeployResult, type MacroDetailView, type MacroListView, MacroService, type ReloadResult } from './macro.service';
import { MACRO_TEMPLATE_IDS, type RenderedTemplate, renderMacroTemplate, TEMPLATE_DESCRIPTIONS } from './templates/macro-templates';

@ApiTags('macro')
@ApiBearerAuth()
@Controller('api/v1/macro')
export class MacroController {
  constructor(private readonly macros: MacroService) {}

  @Get()
  @ApiOperation({ summary: 'Every macro and automacro: version, file, active executions, current errors, last rejected edit; files and refused files' })
  @ApiOkResponse({ description: 'Success envelope' })
  @ApiErrors()
  list(): MacroListView {
    return this.macros.list();
  }

  @Get('templates')
  @ApiOperation({ summary: 'Macro templates (rendered with parameters into valid macro files; the PDCA cycle deploys them)' })
  @ApiErrors()
  templates(): Array<{ id: string; description: string }> {
    return MACRO_TEMPLATE_IDS.map((id) => ({ id, description: TEMPLATE_DESCRIPTIONS[id] }));
  }

  @Post('templates/:id/render')
  @HttpCode(200)
  @ApiOperation({ summary: 'Render a template with parameters (nothing is written)' })
  @ApiErrors()
  render(@Param('id') id: string, @Body() dto: RenderTemplateDto): RenderedTemplate {
    return renderMacroTemplate(id, dto.parameters);
  }

  @Post('validate')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Validate eventMacro content as eventMacro would load it, with the loaded folder as context (nothing is written): ok=false when eventMacro refuses ' +
      'the file (errors, with lines); warnings for the blocks and lines it ignores, the lines it would stop on, and advice',
  })
  @ApiErrors()
  async validate(@Body() dto: ValidateMacroDto) {
    const r = await this.macros.validate(dto.content);
    return { ok: r.ok, errors: r.errors, warnings: r.warnings, blocks: blockReports(r.document) };
  }

  @Get('executions')
  @ApiOperation({ summary: 'Recent macro executions, newest first, filtered by session or macro' })
  @ApiErrors()
  executions(@Query() q: ExecutionsQueryDto): ExecutionView[] {
    return this.macros.executions({ sessionId: q.session_id, macro: q.macro_name, limit: q.limit });
  }

  @Get('executions/:id')
  @ApiOperation({ summary: 'Status of a macro execution: pending, running, completed, failed, timed_out, stopped' })
  @ApiErrors(404)
  execution(@Param('id') id: string): ExecutionView {
    return this.macros.execution(id);
  }

  @Post('executions/:id/stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop a running execution (its timers are cleared, its locks released)' })
  @ApiErrors(404)
  stop(@Param('id') id: string): Promise<ExecutionView> {
    return this.macros.stopExecution(id);
  }

  @Post('execute')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Start a macro for a session: its commands become actions in the session’s queue, one at a time, each delivered and acknowledged (bounded). ' +
      'Returns at once with execution_id; poll GET /macro/executions/:id',
  })
  @ApiAcceptedResponse({ description: 'Success envelope with the execution (status pending)' })
  @ApiErrors(404, 409)
  execute(@Body() dto: ExecuteMacroDto): ExecutionView {
    return this.macros.execute(dto.session_id, dto.macro_name, dto.parameters ?? {});
  }

  @Post('reload')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Re-read a macro’s file (or every file) from MACRO_DIR: validated with no lock held, swapped under the macros’ write locks once their ' +
      'running executions end (bounded: 503 LOCK_TIMEOUT and the old version keeps serving)',
  })
  @ApiErrors(404, 422)
  reload(@Body() dto: ReloadMacroDto): Promise<ReloadResult> {
    return this.macros.reload(dto.macro_name);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One macro (or automacro with ?kind=automacro): version, content, syntax tree, calls, recent versions' })
  @ApiErrors(404)
  get(@Param('name') name: string, @Query() q: MacroQueryDto): Promise<MacroDetailView> {
    assertMacroName(name);
    return this.macros.get(name, q.kind ?? 'macro', q.history ?? 10);
  }

  @Put(':name')
  @ApiOperation({
    summary:
      'Create or replace a macro: validated (400 with line numbers), written atomically into MACRO_DIR, answered once the registry loaded it ' +
      '(409 if the file changed meanwhile, 503 LOCK_TIMEOUT if running executions outlast the reload bound)',
  })
  @ApiErrors(404, 409)
  put(@Param('name') name: string, @Body() dto: PutMacroDto): Promise<DeployResult> {
    assertMacroName(name);
    return this.macros.put(name, dto.content);
  }
}
