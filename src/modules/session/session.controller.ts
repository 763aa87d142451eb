import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { bodyFields, characterRef, PublishedRead, SessionFrom } from '../../common/http/session-scope.decorator';
import { HandshakeDto, HandshakeResponseDto, SessionViewDto } from './dto/handshake.dto';
import { SessionService } from './session.service';

@ApiTags('session')
@ApiBearerAuth()
@Controller('api/v1')
export class SessionController {
  constructor(private readonly sessions: SessionService) {}

  @Post('handshake')
  @HttpCode(200)
  // Naming a character finds (or opens) that character's session — the one its plugin's routes use.
  @SessionFrom((req) => characterRef(bodyFields(req).character_name))
  @ApiOperation({ summary: 'Open a session; returns its id and the server capabilities' })
  @ApiOkResponse({ type: HandshakeResponseDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors()
  handshake(@Body() dto: HandshakeDto): Promise<HandshakeResponseDto> {
    return this.sessions.handshake(dto);
  }

  @Get('sessions')
  @ApiOperation({ summary: 'Active sessions (admin)' })
  @ApiOkResponse({ type: [SessionViewDto] })
  @ApiErrors()
  list(): SessionViewDto[] {
    return this.sessions.list();
  }

  @Get('sessions/:sessionId')
  @PublishedRead()
  @ApiOperation({ summary: 'One active session' })
  @ApiOkResponse({ type: SessionViewDto })
  @ApiErrors(404)
  get(@Param('sessionId', new ParseUUIDPipe({ version: '4' })) sessionId: string): SessionViewDto {
    return this.sessions.get(sessionId);
  }
}
