import { Controller, Get, Param, ParseUUIDPipe, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import type { PipelineReply } from '../../common/http/http-exchange';
import { PublishedRead } from '../../common/http/session-scope.decorator';
import { StateService } from './state.service';

export function etagOf(version: number): string {
  return `"${version}"`;
}

@ApiTags('state')
@ApiBearerAuth()
@Controller('api/v1/state')
export class StateController {
  constructor(private readonly state: StateService) {}

  @Get(':sessionId')
  // The published copy-on-write snapshot: no session turn, no lock — it never waits for a writer.
  @PublishedRead()
  @ApiOperation({ summary: 'The latest snapshot of a session with its version (also as ETag); never waits for a writer' })
  @ApiOkResponse({ description: '{session_id, version, updated_at, state}' })
  @ApiErrors(404)
  get(@Param('sessionId', new ParseUUIDPipe()) sessionId: string, @Res({ passthrough: true }) reply: PipelineReply) {
    const snap = this.state.get(sessionId);
    void reply.header('etag', etagOf(snap.version));
    return { session_id: snap.sessionId, version: snap.version, updated_at: new Date(snap.updatedAt).toISOString(), state: snap.state };
  }
}
